package server

import (
	"sync"
	"time"
)

// throttle counts failed logins per key (a username or a client IP) and
// blocks a key that failed maxFailures times within window, for ban. It is
// per process: replicas each keep their own counts.
type throttle struct {
	maxFailures int
	window      time.Duration
	ban         time.Duration
	now         func() time.Time

	mu      sync.Mutex
	entries map[string]*throttleEntry
}

type throttleEntry struct {
	failures    []time.Time
	bannedUntil time.Time
}

// maxThrottleEntries bounds memory under a flood of distinct usernames;
// past it, entries that no longer matter are swept.
const maxThrottleEntries = 100_000

func newThrottle(maxFailures int, window, ban time.Duration, now func() time.Time) *throttle {
	return &throttle{maxFailures: maxFailures, window: window, ban: ban, now: now, entries: map[string]*throttleEntry{}}
}

// blocked reports whether key may not try now, and until when.
func (t *throttle) blocked(key string) (bool, time.Time) {
	if t == nil {
		return false, time.Time{}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[key]
	if e == nil {
		return false, time.Time{}
	}
	if now := t.now(); now.Before(e.bannedUntil) {
		return true, e.bannedUntil
	}
	return false, time.Time{}
}

// fail records a failure and reports whether the key is now blocked.
func (t *throttle) fail(key string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	e := t.entries[key]
	if e == nil {
		if len(t.entries) >= maxThrottleEntries {
			t.sweep(now)
		}
		e = &throttleEntry{}
		t.entries[key] = e
	}
	recent := e.failures[:0]
	for _, f := range e.failures {
		if now.Sub(f) < t.window {
			recent = append(recent, f)
		}
	}
	e.failures = append(recent, now)
	if len(e.failures) >= t.maxFailures {
		e.bannedUntil = now.Add(t.ban)
		e.failures = nil
	}
}

// succeed forgets the key's failures.
func (t *throttle) succeed(key string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.entries[key]; e != nil && !t.now().Before(e.bannedUntil) {
		delete(t.entries, key)
	}
}

func (t *throttle) sweep(now time.Time) {
	for k, e := range t.entries {
		if !now.Before(e.bannedUntil) && (len(e.failures) == 0 || now.Sub(e.failures[len(e.failures)-1]) >= t.window) {
			delete(t.entries, k)
		}
	}
}
