package kubernetes

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/torii-idp/torii/storage"
)

// throttleRecord is one counter object. It doubles as the counter's lock:
// UpdateThrottle first takes every key's object (writing LockedBy and
// LockedUntil with a resourceVersion check, in one fixed order so that
// two replicas cannot deadlock), then writes the new counters and frees
// them. Holding every key before writing any makes a multi-key update all
// or nothing and exact across replicas; a replica that dies holding a
// lock loses it at LockedUntil.
type throttleRecord struct {
	Counter storage.ThrottleCounter `json:"counter"`
	// Live: the counter holds a value (not only a lock placeholder).
	Live        bool      `json:"live"`
	LockedBy    string    `json:"lockedBy,omitempty"`
	LockedUntil time.Time `json:"lockedUntil,omitzero"`
}

// lockTTL bounds how long a dead replica's throttle lock blocks others.
const lockTTL = 10 * time.Second

// UpdateThrottle reads, updates and writes the counters of keys
// atomically with respect to every other UpdateThrottle (see
// throttleRecord).
func (s *Storage) UpdateThrottle(ctx context.Context, now time.Time, keys []string, update func([]storage.ThrottleCounter) ([]storage.ThrottleCounter, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	order := slices.Clone(keys)
	slices.SortFunc(order, func(a, b string) int { return compareNames(objectName(a), objectName(b)) })
	order = slices.Compact(order)
	held := map[string]object[throttleRecord]{}
	defer func() {
		// Free what is still held (an aborted update or a failure).
		for _, o := range held {
			o.Spec.LockedBy, o.Spec.LockedUntil = "", time.Time{}
			if !o.Spec.Live {
				_ = s.throttles().remove(context.WithoutCancel(ctx), o.Metadata.Name, o.Metadata.ResourceVersion)
				continue
			}
			_, _ = s.throttles().put(context.WithoutCancel(ctx), o)
		}
	}()
	for _, k := range order {
		o, err := s.lockThrottle(ctx, k)
		if err != nil {
			return err
		}
		held[k] = o
	}
	cur := make([]storage.ThrottleCounter, len(keys))
	for i, k := range keys {
		c := held[k].Spec.Counter
		if !held[k].Spec.Live || c.Expiry.Before(now) {
			c = storage.ThrottleCounter{Key: k}
		}
		cur[i] = c
	}
	next, err := update(cur)
	if err != nil {
		return err
	}
	// The last write per key wins, as with the other backends.
	final := map[string]storage.ThrottleCounter{}
	for _, c := range next {
		if _, ok := held[c.Key]; ok {
			final[c.Key] = c
		}
	}
	for _, k := range order {
		o := held[k]
		c, changed := final[k]
		o.Spec.LockedBy, o.Spec.LockedUntil = "", time.Time{}
		if changed {
			o.Spec.Counter, o.Spec.Live = c, !c.Expiry.IsZero()
		}
		if !o.Spec.Live {
			err = s.throttles().remove(ctx, o.Metadata.Name, o.Metadata.ResourceVersion)
		} else {
			_, err = s.throttles().put(ctx, o)
		}
		if err != nil {
			return err
		}
		delete(held, k)
	}
	return nil
}

// lockThrottle takes key's counter object, creating a placeholder when
// there is none, and waits while another replica holds it.
func (s *Storage) lockThrottle(ctx context.Context, key string) (object[throttleRecord], error) {
	r := s.throttles()
	for attempt := 0; ; attempt++ {
		o, err := r.get(ctx, key)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			o = r.newObject(key, throttleRecord{Counter: storage.ThrottleCounter{Key: key}, LockedBy: s.holder, LockedUntil: s.now().Add(lockTTL)}, nil)
			var created object[throttleRecord]
			err = s.c.do(ctx, "create "+r.plural, "POST", r.path(""), nil, o, &created)
			if err == nil {
				return created, nil
			}
			if !errors.Is(err, storage.ErrAlreadyExists) {
				return o, err
			}
		case err != nil:
			return o, err
		case o.Spec.LockedBy == "" || s.now().After(o.Spec.LockedUntil):
			o.Spec.Counter.Key = key
			o.Spec.LockedBy, o.Spec.LockedUntil = s.holder, s.now().Add(lockTTL)
			locked, err := r.put(ctx, o)
			if err == nil {
				return locked, nil
			}
			if !isConflict(err) && !errors.Is(err, storage.ErrNotFound) {
				return o, err
			}
		}
		if err := backoff(ctx, attempt); err != nil {
			return o, err
		}
	}
}

func compareNames(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
