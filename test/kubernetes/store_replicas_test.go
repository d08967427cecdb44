package kubernetes_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/torii-idp/torii/storage"
	"github.com/torii-idp/torii/storage/kubernetes"
)

func twoStores(t *testing.T) (a, b *kubernetes.Storage) {
	t.Helper()
	ns, rules := namespace("stores"), saRules(t)
	return openStore(t, shared, ns, rules), openStore(t, shared, ns, rules)
}

var errRotated = errors.New("already rotated")

// TestRefreshRotationAcrossStores: goroutines on two stores (two
// replicas) rotate one refresh token at once, round after round: every
// round has exactly one winner, and nothing else fails.
func TestRefreshRotationAcrossStores(t *testing.T) {
	ctx := context.Background()
	a, b := twoStores(t)
	for round := range 5 {
		id := fmt.Sprintf("rt-%d", round)
		if err := a.CreateRefresh(ctx, storage.RefreshToken{ID: id, FamilyID: "fam", ClientID: "c", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		winners, others := 0, 0
		var wg sync.WaitGroup
		for i := range 16 {
			s := a
			if i%2 == 1 {
				s = b
			}
			wg.Go(func() {
				err := s.UpdateRefresh(ctx, id, func(r storage.RefreshToken) (storage.RefreshToken, error) {
					if !r.RotatedAt.IsZero() {
						return r, errRotated
					}
					r.RotatedAt = time.Now()
					return r, nil
				})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					winners++
				case errors.Is(err, errRotated):
				default:
					others++
					t.Errorf("round %d: %v", round, err)
				}
			})
		}
		wg.Wait()
		if winners != 1 || others != 0 {
			t.Fatalf("round %d: %d winners and %d errors, want 1 and 0", round, winners, others)
		}
	}
}

// TestThrottleExactAcrossStores: overlapping multi-key increments from two
// stores lose nothing and never apply half an update.
func TestThrottleExactAcrossStores(t *testing.T) {
	ctx := context.Background()
	a, b := twoStores(t)
	now := time.Now().UTC()
	const n = 24
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		s := a
		if i%2 == 1 {
			s = b
		}
		keys := []string{"user", "ip", fmt.Sprintf("own-%d", i)}
		if i%3 == 0 {
			keys = []string{"ip", fmt.Sprintf("own-%d", i), "user"}
		}
		wg.Go(func() {
			errs[i] = s.UpdateThrottle(ctx, now, keys, func(cs []storage.ThrottleCounter) ([]storage.ThrottleCounter, error) {
				for j := range cs {
					cs[j].Count++
					cs[j].Expiry = now.Add(time.Hour)
				}
				return cs, nil
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	var got []storage.ThrottleCounter
	if err := b.UpdateThrottle(ctx, now, []string{"user", "ip", "own-0"}, func(cs []storage.ThrottleCounter) ([]storage.ThrottleCounter, error) {
		got = cs
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if got[0].Count != n || got[1].Count != n || got[2].Count != 1 {
		t.Errorf("counters %d %d %d after %d updates, want %d %d 1", got[0].Count, got[1].Count, got[2].Count, n, n, n)
	}
}

// TestGarbageCollectPagesAndRunsOnce: 1200 expired auth requests and 600
// expired refresh tokens (more than Dex's 500 per kind and run) all go in
// one run, and two replicas collecting at once do not both run: one
// removes everything and the other nothing.
func TestGarbageCollectPagesAndRunsOnce(t *testing.T) {
	ctx := context.Background()
	a, b := twoStores(t)
	now := time.Now().UTC()
	const requests, tokens = 1200, 600
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for i := range requests + tokens {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			var err error
			if i < requests {
				err = a.CreateAuthRequest(ctx, storage.AuthRequest{ID: fmt.Sprintf("req-%d", i), ClientID: "c", Expiry: now.Add(-time.Minute)})
			} else {
				err = b.CreateRefresh(ctx, storage.RefreshToken{ID: fmt.Sprintf("rt-%d", i), FamilyID: fmt.Sprintf("fam-%d", i), Expiry: now.Add(-time.Minute)})
			}
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if err := a.CreateAuthRequest(ctx, storage.AuthRequest{ID: "live", Expiry: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	var results [2]storage.GCResult
	var gcErrs [2]error
	for i, s := range []*kubernetes.Storage{a, b} {
		wg.Go(func() { results[i], gcErrs[i] = s.GarbageCollect(ctx, now) })
	}
	wg.Wait()
	if err := errors.Join(gcErrs[:]...); err != nil {
		t.Fatal(err)
	}
	full := storage.GCResult{AuthRequests: requests, RefreshTokens: tokens}
	if !(results[0] == full && results[1] == storage.GCResult{}) && !(results[1] == full && results[0] == storage.GCResult{}) {
		t.Fatalf("GC results %+v and %+v; want one run removing %+v and one removing nothing", results[0], results[1], full)
	}
	if _, err := a.GetAuthRequest(ctx, "live"); err != nil {
		t.Errorf("live auth request: %v", err)
	}
	if _, err := b.GetAuthRequest(ctx, "req-7"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("expired auth request after GC: %v", err)
	}
	if res, err := b.GarbageCollect(ctx, now); err != nil || res != (storage.GCResult{}) {
		t.Errorf("second GC: %+v %v, want nothing left", res, err)
	}
}
