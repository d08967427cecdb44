package signer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/torii-idp/torii/storage"
)

// Rotate reloads the stored keys and, if a rotation is due (NextRotation <=
// now), rotates: Next becomes Active, a new Next is generated and published,
// and the old Active is retired until now + TokenLifetime (+ a margin).
// Retired keys past their expiry are dropped. The decision is taken again
// inside UpdateKeys on the stored state, so replicas racing here rotate once,
// and an overdue rotation (the service was down) happens once, not once per
// missed period.
//
// Keys are generated before the storage transaction so it is never held
// during RSA key generation.
func (s *Signer) Rotate(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	stored, err := s.store.GetKeys(ctx)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("signer: load keys: %w", err)
	}
	if err == nil && !s.pending(stored, now) {
		return s.install(stored, now)
	}

	var pool [][]byte
	for range s.keysNeeded(stored, now) {
		k, err := generateKey(s.alg)
		if err != nil {
			return err
		}
		pool = append(pool, k)
	}
	newKey := func() ([]byte, error) {
		if len(pool) > 0 {
			k := pool[0]
			pool = pool[1:]
			return k, nil
		}
		// The stored state moved on since GetKeys; rare, generate here.
		return generateKey(s.alg)
	}

	var result storage.Keys
	err = s.store.UpdateKeys(ctx, func(cur storage.Keys) (storage.Keys, error) {
		next, err := s.advance(cur, now, newKey)
		result = next
		return next, err
	})
	if err != nil {
		return fmt.Errorf("signer: update keys: %w", err)
	}
	return s.install(result, now)
}

// pending reports whether advance would change k.
func (s *Signer) pending(k storage.Keys, now time.Time) bool {
	if s.keysNeeded(k, now) > 0 {
		return true
	}
	for _, r := range k.Retired {
		if !now.Before(r.Expiry) {
			return true
		}
	}
	return false
}

// keysNeeded is how many new keys advance would generate for k.
func (s *Signer) keysNeeded(k storage.Keys, now time.Time) int {
	switch {
	case len(k.Active) == 0:
		return 2
	case len(k.Next) == 0 || !now.Before(k.NextRotation):
		return 1
	}
	return 0
}

// advance computes the stored state that should follow k at now. It is pure
// apart from newKey and runs inside UpdateKeys.
func (s *Signer) advance(k storage.Keys, now time.Time, newKey func() ([]byte, error)) (storage.Keys, error) {
	out := storage.Keys{Active: k.Active, Next: k.Next, NextRotation: k.NextRotation}
	for _, r := range k.Retired {
		if now.Before(r.Expiry) {
			out.Retired = append(out.Retired, r)
		}
	}
	var err error
	switch {
	case len(k.Active) == 0: // first start
		if out.Active, err = newKey(); err != nil {
			return k, err
		}
		if out.Next, err = newKey(); err != nil {
			return k, err
		}
		out.NextRotation = now.Add(s.period)
	case len(k.Next) == 0: // damaged state: publish a fresh Next for a full period
		if out.Next, err = newKey(); err != nil {
			return k, err
		}
		out.NextRotation = now.Add(s.period)
	case !now.Before(k.NextRotation):
		pub, err := publicJWK(k.Active)
		if err != nil {
			return k, err
		}
		if out.Next, err = newKey(); err != nil {
			return k, err
		}
		out.Active = k.Next
		out.Retired = append(out.Retired, storage.RetiredKey{JWK: pub, Expiry: now.Add(s.tokenLifetime + retireMargin)})
		// From now, not from the missed NextRotation: an overdue rotation
		// happens once and the new Next still gets a full period of
		// pre-publication.
		out.NextRotation = now.Add(s.period)
	}
	return out, nil
}

// install makes k the current key set unless it already is. Caller holds mu.
func (s *Signer) install(k storage.Keys, now time.Time) error {
	old := s.keys.Load()
	if old != nil && sameKeys(old.stored, k) {
		return nil
	}
	ks, err := buildKeySet(k, now)
	if err != nil {
		return err
	}
	s.keys.Store(ks)
	if old == nil || old.active.kid != ks.active.kid {
		s.log.Info("signing keys loaded", "active_kid", ks.active.kid, "next_kid", ks.next.kid,
			"alg", ks.active.alg, "next_rotation", ks.nextRotation)
	}
	return nil
}

// Run rotates when due and reloads the stored keys (another replica may have
// rotated) every refresh, until ctx is done. refresh is capped at a quarter
// of the rotation period: the max-age reasoning (see MaxAge) counts on
// replicas seeing a newly published key that soon.
func (s *Signer) Run(ctx context.Context, refresh time.Duration) {
	limit := max(s.period/4, time.Millisecond)
	if refresh <= 0 {
		refresh = time.Minute
	}
	refresh = min(refresh, limit)
	timer := time.NewTimer(refresh)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if err := s.Rotate(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("signing key rotation or reload failed", "err", err)
		}
		wait := refresh
		if until := s.keys.Load().nextRotation.Sub(s.now()); until > 0 && until < wait {
			wait = until
		}
		timer.Reset(wait)
	}
}
