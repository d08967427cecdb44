package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/torii-idp/torii/storage"
)

func testThrottleRoundTrip(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	now := baseTime()
	a := storage.ThrottleCounter{Key: "user/local/jane", WindowStart: now, Count: 3, Previous: 7, NextAllowed: now.Add(time.Second), Expiry: now.Add(time.Hour)}
	err := s.UpdateThrottle(ctx, now, []string{a.Key, "other"}, func(cs []storage.ThrottleCounter) ([]storage.ThrottleCounter, error) {
		if len(cs) != 2 || cs[0] != (storage.ThrottleCounter{Key: a.Key}) || cs[1] != (storage.ThrottleCounter{Key: "other"}) {
			t.Errorf("new counters read as %+v, want zero counters with keys", cs)
		}
		// A key that was not read is not written.
		return []storage.ThrottleCounter{a, {Key: "unread", Count: 1, Expiry: now.Add(time.Hour)}}, nil
	})
	if err != nil {
		t.Fatalf("UpdateThrottle: %v", err)
	}
	read := func(at time.Time, keys ...string) []storage.ThrottleCounter {
		t.Helper()
		var got []storage.ThrottleCounter
		if err := s.UpdateThrottle(ctx, at, keys, func(cs []storage.ThrottleCounter) ([]storage.ThrottleCounter, error) {
			got = cs
			return nil, nil
		}); err != nil {
			t.Fatalf("UpdateThrottle: %v", err)
		}
		return got
	}
	got := read(now, a.Key, "unread")
	assertEqual(t, "counter", got[0], a)
	assertEqual(t, "unread key", got[1], storage.ThrottleCounter{Key: "unread"})
	// Expired counters read as new.
	assertEqual(t, "expired counter", read(now.Add(2*time.Hour), a.Key)[0], storage.ThrottleCounter{Key: a.Key})

	// An aborted update changes nothing.
	if err := s.UpdateThrottle(ctx, now, []string{a.Key}, func(cs []storage.ThrottleCounter) ([]storage.ThrottleCounter, error) {
		cs[0].Count = 99
		return cs, errAbort
	}); !errors.Is(err, errAbort) {
		t.Fatalf("aborted UpdateThrottle: %v, want errAbort", err)
	}
	assertEqual(t, "after abort", read(now, a.Key)[0], a)

	// A zero expiry deletes.
	if err := s.UpdateThrottle(ctx, now, []string{a.Key}, func(cs []storage.ThrottleCounter) ([]storage.ThrottleCounter, error) {
		return []storage.ThrottleCounter{{Key: a.Key}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "deleted", read(now, a.Key)[0], storage.ThrottleCounter{Key: a.Key})
}

// testThrottleConcurrent: increments of overlapping key sets from many
// goroutines are none of them lost (the login throttle's reservation).
func testThrottleConcurrent(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	now := baseTime()
	errs := runConcurrently(concurrency, func(i int) error {
		keys := []string{"shared", id("own", i)}
		if i%2 == 1 {
			keys = []string{id("own", i), "shared"} // the other order too
		}
		return s.UpdateThrottle(ctx, now, keys, func(cs []storage.ThrottleCounter) ([]storage.ThrottleCounter, error) {
			for j := range cs {
				cs[j].Count++
				cs[j].Expiry = now.Add(time.Hour)
			}
			return cs, nil
		})
	})
	for _, err := range errs {
		if err != nil {
			t.Fatalf("UpdateThrottle: %v", err)
		}
	}
	var shared int64
	if err := s.UpdateThrottle(ctx, now, []string{"shared"}, func(cs []storage.ThrottleCounter) ([]storage.ThrottleCounter, error) {
		shared = cs[0].Count
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if shared != concurrency {
		t.Errorf("shared counter is %d after %d concurrent increments", shared, concurrency)
	}
}

func testThrottleGC(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	now := baseTime()
	if err := s.UpdateThrottle(ctx, now, []string{"old", "new"}, func([]storage.ThrottleCounter) ([]storage.ThrottleCounter, error) {
		return []storage.ThrottleCounter{
			{Key: "old", Count: 1, Expiry: now.Add(-time.Second)},
			{Key: "new", Count: 1, Expiry: now.Add(time.Hour)},
		}, nil
	}); err != nil {
		t.Fatal(err)
	}
	res, err := s.GarbageCollect(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if res.ThrottleCounters != 1 {
		t.Errorf("GarbageCollect removed %d throttle counters, want 1", res.ThrottleCounters)
	}
	if err := s.UpdateThrottle(ctx, now, []string{"new"}, func(cs []storage.ThrottleCounter) ([]storage.ThrottleCounter, error) {
		if cs[0].Count != 1 {
			t.Errorf("live counter collected: %+v", cs[0])
		}
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.UpdateThrottle(cancelled, now, []string{"new"}, func(cs []storage.ThrottleCounter) ([]storage.ThrottleCounter, error) { return cs, nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled UpdateThrottle: %v, want context.Canceled", err)
	}
}
