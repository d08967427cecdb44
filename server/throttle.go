package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/torii-idp/torii/storage"
)

// throttle limits password guessing with counters kept in storage, so that
// every replica sees the same counts. Each login reserves its attempt
// before the connector is asked (so parallel guesses cannot all slip
// through one check) and settles it afterwards. Instead of banning, each
// counter past its free allowance imposes a delay that doubles with every
// further failure up to maxDelay:
//
//   - per (user, client IP): bounds one address's guesses at one user;
//   - per user, counting only addresses the user has not logged in from
//     recently: bounds a distributed attack, while a user's known
//     addresses are never slowed by guesses from elsewhere;
//   - per client IP, likewise only for unknown (user, IP) pairs: password
//     spraying across users;
//   - connector errors per client IP: a silent directory cannot be used
//     to tie up logins.
//
// A user is the connector's user ID when the connector names one (see
// connector.GatedPasswordConnector), else the typed name NFKC-normalized
// and case-folded. Keys are hashed: the table holds no usernames or IPs.
type throttle struct {
	store storage.ThrottleStore
	cfg   ThrottleConfig
	now   func() time.Time
}

// throttledError is errThrottled with the time attempts may resume.
type throttledError struct{ until time.Time }

func (e throttledError) Error() string        { return errThrottled.Error() }
func (e throttledError) Is(target error) bool { return target == errThrottled }

// normalizeLogin is how a typed name is compared when the connector does
// not say whom it names.
func normalizeLogin(s string) string {
	return cases.Fold().String(norm.NFKC.String(strings.TrimSpace(s)))
}

func throttleKey(kind string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return kind + ":" + hex.EncodeToString(h.Sum(nil)[:16])
}

// attempt is one login's reservation.
type attempt struct {
	pair, user, ip, errs, known string
	// knownPair: the user logged in from this address recently, so the
	// per-user and per-IP counters were not charged.
	knownPair bool
	charged   []string
}

func (t *throttle) keys(connID, user, ip string) attempt {
	return attempt{
		pair:  throttleKey("p", connID, user, ip),
		user:  throttleKey("u", connID, user),
		ip:    throttleKey("i", ip),
		errs:  throttleKey("e", ip),
		known: throttleKey("k", connID, user, ip),
	}
}

// roll moves c's window of length w forward to now.
func roll(c *storage.ThrottleCounter, now time.Time, w time.Duration) {
	switch el := now.Sub(c.WindowStart); {
	case c.WindowStart.IsZero() || el >= 2*w:
		c.WindowStart, c.Count, c.Previous = now, 0, 0
	case el >= w:
		c.WindowStart, c.Previous, c.Count = c.WindowStart.Add(w), c.Count, 0
	}
}

// estimate is the sliding-window count of the last w: this window's count
// plus the share of the previous one that still overlaps it.
func estimate(c storage.ThrottleCounter, now time.Time, w time.Duration) int64 {
	frac := float64(now.Sub(c.WindowStart)) / float64(w)
	return c.Count + int64(float64(c.Previous)*(1-min(max(frac, 0), 1))+0.5)
}

func (t *throttle) roll(c *storage.ThrottleCounter, now time.Time) { roll(c, now, t.cfg.Window) }

func (t *throttle) estimate(c storage.ThrottleCounter, now time.Time) int64 {
	return estimate(c, now, t.cfg.Window)
}

// delay is the wait imposed after n counted failures with free allowed.
func (t *throttle) delay(n, free int64) time.Duration {
	if n < free {
		return 0
	}
	d := t.cfg.BaseDelay
	for i := free; i < n && d < t.cfg.MaxDelay; i++ {
		d *= 2
	}
	return min(d, t.cfg.MaxDelay)
}

// charge counts one attempt on c and sets its next allowed time.
func (t *throttle) charge(c *storage.ThrottleCounter, free int64, now time.Time) {
	t.roll(c, now)
	c.Count++
	if d := t.delay(t.estimate(*c, now), free); d > 0 {
		c.NextAllowed = now.Add(d)
	}
	c.Expiry = later(now.Add(2*t.cfg.Window), c.NextAllowed)
}

// refund takes one attempt back (it turned out not to be a guess).
func (t *throttle) refund(c *storage.ThrottleCounter, free int64, now time.Time) {
	t.roll(c, now)
	if c.Count > 0 {
		c.Count--
	}
	if t.estimate(*c, now) < free {
		c.NextAllowed = time.Time{}
	}
	if c.Expiry.IsZero() {
		c.Expiry = now.Add(2 * t.cfg.Window)
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// reserveErrors charges the client IP's connector-error counter before the
// connector is called at all.
func (t *throttle) reserveErrors(ctx context.Context, a *attempt) error {
	now := t.now()
	return t.store.UpdateThrottle(ctx, now, []string{a.errs}, func(cs []storage.ThrottleCounter) ([]storage.ThrottleCounter, error) {
		if now.Before(cs[0].NextAllowed) {
			return nil, throttledError{cs[0].NextAllowed}
		}
		t.charge(&cs[0], int64(t.cfg.ErrorsPerIP), now)
		return cs, nil
	})
}

// reserve charges the user's counters once the user is known; it refuses
// (charging nothing) while any of them imposes a delay.
func (t *throttle) reserve(ctx context.Context, a *attempt) error {
	now := t.now()
	keys := []string{a.pair, a.known, a.user, a.ip}
	return t.store.UpdateThrottle(ctx, now, keys, func(cs []storage.ThrottleCounter) ([]storage.ThrottleCounter, error) {
		pair, known, user, ip := &cs[0], cs[1], &cs[2], &cs[3]
		a.knownPair = known.Count > 0
		check := []*storage.ThrottleCounter{pair}
		free := []int64{int64(t.cfg.FailuresPerUserAndIP)}
		if !a.knownPair {
			check = append(check, user, ip)
			free = append(free, int64(t.cfg.FailuresPerUser), int64(t.cfg.FailuresPerIP))
		}
		var until time.Time
		for _, c := range check {
			if now.Before(c.NextAllowed) {
				until = later(until, c.NextAllowed)
			}
		}
		if !until.IsZero() {
			return nil, throttledError{until}
		}
		out := make([]storage.ThrottleCounter, 0, len(check))
		for i, c := range check {
			t.charge(c, free[i], now)
			a.charged = append(a.charged, c.Key)
			out = append(out, *c)
		}
		return out, nil
	})
}

// outcome is how a reserved login ended.
type outcome int

const (
	outcomeWrong   outcome = iota // a wrong password: stays counted
	outcomeSuccess                // forget the pair's failures, remember the address
	outcomeError                  // the connector failed: not a guess, but an error
	outcomeNone                   // neither (throttled before the password was tried)
)

// settle books the outcome of a reserved attempt.
func (t *throttle) settle(ctx context.Context, a *attempt, o outcome) error {
	now := t.now()
	keys := append([]string{a.errs, a.known}, a.charged...)
	return t.store.UpdateThrottle(ctx, now, keys, func(cs []storage.ThrottleCounter) ([]storage.ThrottleCounter, error) {
		errs, known := &cs[0], &cs[1]
		out := []storage.ThrottleCounter{}
		if o != outcomeError {
			t.refund(errs, int64(t.cfg.ErrorsPerIP), now)
			out = append(out, *errs)
		}
		for i := range cs[2:] {
			c := &cs[2+i]
			switch {
			case o == outcomeSuccess && c.Key == a.pair:
				out = append(out, storage.ThrottleCounter{Key: c.Key}) // deleted
			case o == outcomeSuccess || o == outcomeError || o == outcomeNone:
				t.refund(c, t.free(c.Key, a), now)
				out = append(out, *c)
			}
		}
		if o == outcomeSuccess {
			*known = storage.ThrottleCounter{Key: known.Key, Count: 1, WindowStart: now, Expiry: now.Add(t.cfg.KnownAddressFor)}
			out = append(out, *known)
		}
		return out, nil
	})
}

func (t *throttle) free(key string, a *attempt) int64 {
	switch key {
	case a.user:
		return int64(t.cfg.FailuresPerUser)
	case a.ip:
		return int64(t.cfg.FailuresPerIP)
	}
	return int64(t.cfg.FailuresPerUserAndIP)
}

// startAuthRequest counts an auth request started from ip and refuses it
// when the address already started PendingAuthRequestsPerIP of them within
// the un-started lifetime (they would all still be stored).
func (t *throttle) startAuthRequest(ctx context.Context, ip string, window time.Duration) error {
	if t.cfg.PendingAuthRequestsPerIP <= 0 {
		return nil
	}
	now := t.now()
	key := throttleKey("a", ip)
	return t.store.UpdateThrottle(ctx, now, []string{key}, func(cs []storage.ThrottleCounter) ([]storage.ThrottleCounter, error) {
		c := &cs[0]
		roll(c, now, window)
		if estimate(*c, now, window) >= int64(t.cfg.PendingAuthRequestsPerIP) {
			return nil, errTooManyPending
		}
		c.Count++
		c.Expiry = now.Add(2 * window)
		return cs, nil
	})
}

var errTooManyPending = errors.New("too many login requests from this address")

func (c *ThrottleConfig) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defN := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	def(&c.Window, time.Hour)
	def(&c.BaseDelay, time.Second)
	def(&c.MaxDelay, 5*time.Minute)
	def(&c.KnownAddressFor, 30*24*time.Hour)
	defN(&c.FailuresPerUserAndIP, 3)
	defN(&c.FailuresPerUser, 30)
	defN(&c.FailuresPerIP, 30)
	defN(&c.ErrorsPerIP, 20)
	if c.PendingAuthRequestsPerIP == 0 {
		c.PendingAuthRequestsPerIP = 1000
	}
}
