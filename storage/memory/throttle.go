package memory

import (
	"context"
	"slices"
	"time"

	"github.com/torii-idp/torii/storage"
)

// UpdateThrottle runs update under the store's lock.
func (s *Storage) UpdateThrottle(ctx context.Context, now time.Time, keys []string, update func([]storage.ThrottleCounter) ([]storage.ThrottleCounter, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := make([]storage.ThrottleCounter, len(keys))
	for i, k := range keys {
		c, ok := s.throttle[k]
		if !ok || c.Expiry.Before(now) {
			c = storage.ThrottleCounter{Key: k}
		}
		cur[i] = c
	}
	next, err := update(cur)
	if err != nil {
		return err
	}
	for _, c := range next {
		if !slices.Contains(keys, c.Key) {
			continue // only the keys that were read may be written
		}
		if c.Expiry.IsZero() {
			delete(s.throttle, c.Key)
		} else {
			s.throttle[c.Key] = c
		}
	}
	return nil
}
