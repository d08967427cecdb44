package signer

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestRotation(t *testing.T) {
	const period, lifetime = time.Hour, 30 * time.Minute
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			st, c := newStore(t), newClock()
			s := newSigner(t, st, c, alg)
			before := jwksKids(t, s)
			oldTok, oldKid := sign(t, s, "old")

			// Not due yet: nothing changes.
			c.Add(period - time.Second)
			if err := s.Rotate(t.Context()); err != nil {
				t.Fatal(err)
			}
			if _, kid := sign(t, s, "x"); kid != oldKid {
				t.Fatalf("rotated early: %s", kid)
			}

			c.Add(time.Second)
			if err := s.Rotate(t.Context()); err != nil {
				t.Fatal(err)
			}
			rotatedAt := c.Now()
			newTok, newKid := sign(t, s, "new")
			if newKid == oldKid {
				t.Fatal("the same key signs after rotation")
			}
			if !slices.Contains(before, newKid) {
				t.Fatalf("kid %s signs after rotation but was not in the JWKS before it (%v)", newKid, before)
			}
			after := jwksKids(t, s)
			if len(after) != 3 || !slices.Contains(after, oldKid) || after[0] != newKid {
				t.Fatalf("JWKS after rotation = %v, want new active %s first, a new next, retired %s", after, newKid, oldKid)
			}
			k := storedKeys(t, st)
			if len(k.Retired) != 1 || !k.Retired[0].Expiry.Equal(rotatedAt.Add(lifetime+retireMargin)) {
				t.Fatalf("retired = %+v", k.Retired)
			}
			if !k.NextRotation.Equal(rotatedAt.Add(period)) {
				t.Fatalf("NextRotation = %v", k.NextRotation)
			}
			for _, tok := range []string{oldTok, newTok} {
				if _, err := s.Verify(t.Context(), tok); err != nil {
					t.Fatalf("Verify after rotation: %v", err)
				}
			}

			// The retired key stays until TokenLifetime (+margin) after rotation.
			c.Add(lifetime + retireMargin - time.Second)
			if err := s.Rotate(t.Context()); err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(jwksKids(t, s), oldKid) {
				t.Fatal("retired key dropped before its expiry")
			}
			if _, err := s.Verify(t.Context(), oldTok); err != nil {
				t.Fatalf("retired key refused before its expiry: %v", err)
			}

			c.Add(time.Second)
			if slices.Contains(jwksKids(t, s), oldKid) {
				t.Fatal("expired retired key still in the JWKS")
			}
			if _, err := s.Verify(t.Context(), oldTok); err == nil {
				t.Fatal("expired retired key still verifies")
			}
			if err := s.Rotate(t.Context()); err != nil {
				t.Fatal(err)
			}
			if k := storedKeys(t, st); len(k.Retired) != 0 {
				t.Fatalf("expired retired key still stored: %d", len(k.Retired))
			}
		})
	}
}

func TestOverdueRotationHappensOnce(t *testing.T) {
	st, c := newStore(t), newClock()
	s := newSigner(t, st, c, "ES256")
	before := storedKeys(t, st)
	c.Add(10 * time.Hour) // ten periods of downtime

	s2 := newSigner(t, st, c, "ES256") // restart
	k := storedKeys(t, st)
	if string(k.Active) != string(before.Next) {
		t.Fatal("after downtime the former Next must be Active (one rotation)")
	}
	if len(k.Retired) != 1 || !k.NextRotation.Equal(c.Now().Add(time.Hour)) {
		t.Fatalf("retired %d, NextRotation %v: want one rotation and a full period ahead", len(k.Retired), k.NextRotation)
	}
	if err := s2.Rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !sameKeys(k, storedKeys(t, st)) {
		t.Fatal("a second Rotate right after rotated again")
	}
	_ = s
}

func TestConcurrentRotationRotatesOnce(t *testing.T) {
	st, c := newStore(t), newClock()
	a := newSigner(t, st, c, "ES256")
	b := newSigner(t, st, c, "ES256")
	before := storedKeys(t, st)
	c.Add(time.Hour)

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() { errs <- s.Rotate(context.Background()) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	k := storedKeys(t, st)
	if string(k.Active) != string(before.Next) || len(k.Retired) != 1 {
		t.Fatalf("want exactly one rotation: active is former next %v, retired %d",
			string(k.Active) == string(before.Next), len(k.Retired))
	}
	_, ka := sign(t, a, "x")
	_, kb := sign(t, b, "x")
	if ka != kb {
		t.Fatalf("replicas sign with different keys: %s and %s", ka, kb)
	}
	ea, eb := etag(t, a), etag(t, b)
	if ea != eb {
		t.Fatal("replicas serve different JWKS for the same stored keys")
	}
}

func TestReloadSeesOtherReplicasRotation(t *testing.T) {
	st, c := newStore(t), newClock()
	a := newSigner(t, st, c, "RS256")
	b := newSigner(t, st, c, "RS256")
	_, oldKid := sign(t, b, "x")
	nextKids := jwksKids(t, b)

	c.Add(time.Hour)
	// b has not reloaded yet but NextRotation has passed: it already signs
	// with the published Next, the key a's rotation makes Active.
	_, lagKid := sign(t, b, "x")
	if lagKid == oldKid || lagKid != nextKids[1] {
		t.Fatalf("lagging replica signs with %s, want the published next %s", lagKid, nextKids[1])
	}
	if err := a.Rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Minute)
	if err := b.Rotate(t.Context()); err != nil { // b's periodic reload
		t.Fatal(err)
	}
	_, ka := sign(t, a, "x")
	_, kb := sign(t, b, "x")
	if ka != lagKid || kb != lagKid {
		t.Fatalf("after reload: a %s, b %s, want %s", ka, kb, lagKid)
	}
	if len(storedKeys(t, st).Retired) != 1 {
		t.Fatal("reload must not rotate a second time")
	}
}

func etag(t *testing.T, s *Signer) string {
	t.Helper()
	_, e, _, err := s.JWKS(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestJWKSETag(t *testing.T) {
	st, c := newStore(t), newClock()
	s := newSigner(t, st, c, "ES256")
	e1 := etag(t, s)
	if len(e1) < 3 || e1[0] != '"' || e1[len(e1)-1] != '"' {
		t.Fatalf("ETag %q is not a strong quoted ETag", e1)
	}
	steps := []struct {
		name    string
		advance time.Duration
		changed bool
	}{
		{"no change", 10 * time.Minute, false},
		{"reload without change", 10 * time.Minute, false},
		{"rotation", 40 * time.Minute, true},
		{"between rotations", 10 * time.Minute, false},
		{"retired key expired", 30*time.Minute + retireMargin, true},
	}
	prev := e1
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			c.Add(st.advance)
			if err := s.Rotate(t.Context()); err != nil {
				t.Fatal(err)
			}
			e := etag(t, s)
			if (e != prev) != st.changed {
				t.Fatalf("ETag %s -> %s, changed want %v", prev, e, st.changed)
			}
			prev = e
		})
	}
}

func TestAlgorithmSwitch(t *testing.T) {
	st, c := newStore(t), newClock()
	newSigner(t, st, c, "RS256")
	s := newSigner(t, st, c, "ES256") // config changed, keys are RS256
	steps := []struct {
		signs string
		algs  []string
	}{
		{"RS256", []string{"RS256"}},
		{"RS256", []string{"RS256", "ES256"}},
		{"ES256", []string{"ES256"}},
	}
	for i, step := range steps {
		if i > 0 {
			c.Add(time.Hour)
			if err := s.Rotate(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		tok, _ := sign(t, s, "x")
		if got := header(t, tok)["alg"]; got != step.signs || s.Algorithm() != step.signs {
			t.Fatalf("step %d: signs with %v (Algorithm %s), want %s", i, got, s.Algorithm(), step.signs)
		}
		if got := s.Algorithms(); !slices.Equal(got, step.algs) {
			t.Fatalf("step %d: Algorithms = %v, want %v", i, got, step.algs)
		}
	}
}

func TestRunRotatesAndStops(t *testing.T) {
	st, c := newStore(t), newClock()
	s := newSigner(t, st, c, "ES256")
	before := storedKeys(t, st)
	c.Add(time.Hour)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { s.Run(ctx, time.Millisecond); close(done) }()
	// Waits for an event, not a duration: the loop ticks every millisecond.
	for string(storedKeys(t, st).Active) == string(before.Active) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if len(storedKeys(t, st).Retired) != 1 {
		t.Fatal("Run rotated more than once")
	}
}
