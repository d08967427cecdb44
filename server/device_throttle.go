package server

import (
	"context"
	"time"

	"github.com/torii-idp/torii/storage"
)

// Wrong user codes are throttled per client IP (RFC 8628 §5.1): a user
// code has about 34 bits, so guessing one must cost time. The counter is
// the login throttle's kind (shared by replicas, sliding window, doubling
// delay past a free allowance) under its own key.

// freeWrongUserCodes is how many wrong codes an address may type per
// throttle window before each further one costs a growing delay.
const freeWrongUserCodes = 10

func userCodeThrottleKey(ip string) string { return throttleKey("d", ip) }

// userCodeAllowed returns a non-zero time while ip must wait.
func (t *throttle) userCodeAllowed(ctx context.Context, ip string) (time.Time, error) {
	now := t.now()
	var until time.Time
	err := t.store.UpdateThrottle(ctx, now, []string{userCodeThrottleKey(ip)}, func(cs []storage.ThrottleCounter) ([]storage.ThrottleCounter, error) {
		if now.Before(cs[0].NextAllowed) {
			until = cs[0].NextAllowed
		}
		return nil, nil // read only
	})
	return until, err
}

// wrongUserCode counts a wrong or expired code typed from ip.
func (t *throttle) wrongUserCode(ctx context.Context, ip string) error {
	now := t.now()
	return t.store.UpdateThrottle(ctx, now, []string{userCodeThrottleKey(ip)}, func(cs []storage.ThrottleCounter) ([]storage.ThrottleCounter, error) {
		t.charge(&cs[0], freeWrongUserCodes, now)
		return cs, nil
	})
}
