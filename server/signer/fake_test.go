package signer

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/torii-idp/torii/storage"
)

// fakeStore implements only GetKeys and UpdateKeys; any other method panics
// through the nil embedded interface.
type fakeStore struct {
	storage.Storage
	mu      sync.Mutex
	keys    storage.Keys
	has     bool
	updates int
}

func copyKeys(k storage.Keys) storage.Keys {
	k.Retired = slices.Clone(k.Retired)
	return k
}

func (f *fakeStore) GetKeys(ctx context.Context) (storage.Keys, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.has {
		return storage.Keys{}, storage.ErrNotFound
	}
	return copyKeys(f.keys), nil
}

func (f *fakeStore) UpdateKeys(ctx context.Context, update func(storage.Keys) (storage.Keys, error)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, err := update(copyKeys(f.keys))
	if err != nil {
		return err
	}
	f.keys, f.has = copyKeys(k), true
	f.updates++
	return nil
}

// clock is an injected, manually advanced clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
