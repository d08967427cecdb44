package kubernetes

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/torii-idp/torii/storage"
)

// lockRecord is a ToriiLock: held by Holder until Until.
type lockRecord struct {
	Name   string    `json:"name"`
	Holder string    `json:"holder"`
	Until  time.Time `json:"until"`
}

// gcLock is the lock garbage collection runs under, so that one replica
// at a time pages through the objects; gcLockTTL frees it should that
// replica die.
const (
	gcLock    = "garbage-collection"
	gcLockTTL = 10 * time.Minute
)

// GarbageCollect deletes every expired object of every kind, paging
// through all of them (limit/continue: nothing is left for a later run,
// however many there are). It runs on one replica at a time: another
// replica's call while one runs returns an empty result. A delete is
// conditional on the resourceVersion that was read, so an object a
// request has just extended survives.
func (s *Storage) GarbageCollect(ctx context.Context, now time.Time) (storage.GCResult, error) {
	var res storage.GCResult
	release, ok, err := s.acquire(ctx, gcLock, gcLockTTL)
	if err != nil || !ok {
		return res, err
	}
	defer release()
	var errs []error
	collect := func(err error) { errs = append(errs, err) }
	collect(sweep(ctx, s.authRequests(), &res.AuthRequests, func(a storage.AuthRequest) bool { return a.Expiry.Before(now) }))
	collect(sweep(ctx, s.authCodes(), &res.AuthCodes, func(c storage.AuthCode) bool { return c.Expiry.Before(now) }))
	collect(sweep(ctx, s.refreshTokens(), &res.RefreshTokens, func(r storage.RefreshToken) bool {
		return !r.Expiry.IsZero() && r.Expiry.Before(now)
	}))
	collect(sweep(ctx, s.revokedGrants(), &res.RevokedGrants, func(g revokedGrant) bool {
		return !g.Until.IsZero() && g.Until.Before(now)
	}))
	collect(sweep(ctx, s.deviceRequests(), &res.DeviceRequests, func(d storage.DeviceRequest) bool { return d.Expiry.Before(now) }))
	var codes int64 // counted with their requests
	collect(sweep(ctx, s.deviceUserCodes(), &codes, func(c userCodeIndex) bool { return c.Expiry.Before(now) }))
	collect(sweep(ctx, s.sessions(), &res.Sessions, func(ss storage.Session) bool { return ss.Expiry().Before(now) }))
	wall := s.now()
	collect(sweep(ctx, s.throttles(), &res.ThrottleCounters, func(t throttleRecord) bool {
		if t.LockedBy != "" && !wall.After(t.LockedUntil) {
			return false // an update holds it
		}
		return !t.Live || t.Counter.Expiry.Before(now)
	}))
	return res, errors.Join(errs...)
}

// sweep deletes the objects of one kind that expired, counting in n.
func sweep[T any](ctx context.Context, r resources[T], n *int64, expired func(T) bool) error {
	for restarts := 0; ; restarts++ {
		err := r.each(ctx, "", func(o object[T]) error {
			if !expired(o.Spec) {
				return nil
			}
			err := r.remove(ctx, o.Metadata.Name, o.Metadata.ResourceVersion)
			switch {
			case err == nil:
				*n++
			case errors.Is(err, storage.ErrNotFound) || isConflict(err):
				// gone already, or changed since listed (extended): leave it
			default:
				return err
			}
			return nil
		})
		// A continue token outlives its snapshot after a long sweep (410
		// Gone): list again from the start; what was deleted is gone.
		var ae *apiError
		if errors.As(err, &ae) && ae.Code == http.StatusGone && restarts < 3 {
			continue
		}
		return err
	}
}

// acquire takes the named lock for ttl unless another holder has it and
// its time has not run out. release frees it.
func (s *Storage) acquire(ctx context.Context, name string, ttl time.Duration) (release func(), ok bool, err error) {
	r := s.locks()
	for attempt := 0; attempt < 5; attempt++ {
		o, err := r.get(ctx, name)
		now := s.now()
		rec := lockRecord{Name: name, Holder: s.holder, Until: now.Add(ttl)}
		switch {
		case errors.Is(err, storage.ErrNotFound):
			var created object[lockRecord]
			err = s.c.do(ctx, "create "+r.plural, http.MethodPost, r.path(""), nil, r.newObject(name, rec, nil), &created)
			if err == nil {
				return s.releaser(created), true, nil
			}
			if !errors.Is(err, storage.ErrAlreadyExists) {
				return nil, false, err
			}
		case err != nil:
			return nil, false, err
		case o.Spec.Holder != "" && o.Spec.Holder != s.holder && now.Before(o.Spec.Until):
			return nil, false, nil // another replica holds it
		default:
			o.Spec = rec
			held, err := r.put(ctx, o)
			if err == nil {
				return s.releaser(held), true, nil
			}
			if !isConflict(err) && !errors.Is(err, storage.ErrNotFound) {
				return nil, false, err
			}
		}
		if err := backoff(ctx, attempt); err != nil {
			return nil, false, err
		}
	}
	return nil, false, nil // lost every race: someone else has it
}

func (s *Storage) releaser(o object[lockRecord]) func() {
	return func() {
		o.Spec.Holder, o.Spec.Until = "", time.Time{}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// A conflict means another replica took it over after our TTL: leave it.
		_, _ = s.locks().put(ctx, o)
	}
}
