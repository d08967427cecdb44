package storage

import (
	"context"
	"time"
)

// ThrottleCounter is one rate counter: failed logins of a user, of a
// (user, client IP) pair or of a client IP, or the auth requests one IP
// started. The server decides what the numbers mean; storage only keeps
// them, shared by every replica, so that N replicas do not allow N times
// the attempts.
type ThrottleCounter struct {
	// Key is printable text (no NUL): the server stores hashes.
	Key string
	// WindowStart begins the current counting window; Count is what was
	// counted in it and Previous what was counted in the window before
	// (a sliding-window estimate weighs the two).
	WindowStart time.Time
	Count       int64
	Previous    int64
	// NextAllowed: no attempt is allowed before it.
	NextAllowed time.Time
	// Expiry is when the counter no longer matters; an expired counter
	// reads as the zero counter and GarbageCollect removes it.
	Expiry time.Time
}

// ThrottleStore keeps throttle counters. It is embedded in Storage.
type ThrottleStore interface {
	// UpdateThrottle reads the counters of keys (in that order; a counter
	// that is not stored or expired before now reads as the zero counter
	// with only Key set), calls update with them and stores what update
	// returns, all atomically: two replicas updating the same keys
	// serialize. A returned counter with a zero Expiry is deleted; keys
	// update drops are left as they were. An error from update aborts
	// and is returned unchanged.
	UpdateThrottle(ctx context.Context, now time.Time, keys []string, update func([]ThrottleCounter) ([]ThrottleCounter, error)) error
}
