package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/torii-idp/torii/storage"
)

func testGarbageCollect(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	now := baseTime()
	expired := now.Add(-time.Second)
	live := now.Add(time.Hour)

	// An Expiry equal to now is not "before now" and survives.
	requests := map[string]time.Time{"req-old-1": expired, "req-old-2": now.Add(-24 * time.Hour), "req-live": live, "req-now": now}
	codes := map[string]time.Time{"code-old-1": expired, "code-old-2": expired.Add(-time.Microsecond), "code-old-3": expired, "code-live": live}
	refresh := map[string]time.Time{"rt-old-1": expired, "rt-live": live, "rt-never": {}}
	for id, exp := range requests {
		a := sampleAuthRequest(id)
		a.Expiry = exp
		if err := s.CreateAuthRequest(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	for id, exp := range codes {
		c := sampleAuthCode(id)
		c.Expiry = exp
		if err := s.CreateAuthCode(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	for id, exp := range refresh {
		r := sampleRefresh(id, "fam-"+id)
		r.Expiry = exp
		if err := s.CreateRefresh(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RevokeGrant(ctx, "grant-old", expired); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeGrant(ctx, "grant-live", live); err != nil {
		t.Fatal(err)
	}

	got, err := s.GarbageCollect(ctx, now)
	if err != nil {
		t.Fatalf("GarbageCollect: %v", err)
	}
	want := storage.GCResult{AuthRequests: 2, AuthCodes: 3, RefreshTokens: 1, RevokedGrants: 1}
	if got != want {
		t.Errorf("GarbageCollect = %+v, want %+v", got, want)
	}

	check := func(kind, id string, exp time.Time, get func(string) error) {
		t.Helper()
		err := get(id)
		removed := errors.Is(err, storage.ErrNotFound)
		if err != nil && !removed {
			t.Errorf("get %s %s: %v", kind, id, err)
			return
		}
		wantRemoved := !exp.IsZero() && exp.Before(now)
		if removed != wantRemoved {
			t.Errorf("%s %s with expiry %v: removed=%v, want %v", kind, id, exp, removed, wantRemoved)
		}
	}
	for id, exp := range requests {
		check("auth request", id, exp, func(id string) error { _, err := s.GetAuthRequest(ctx, id); return err })
	}
	for id, exp := range codes {
		check("auth code", id, exp, func(id string) error { _, err := s.GetAuthCode(ctx, id); return err })
	}
	for id, exp := range refresh {
		check("refresh token", id, exp, func(id string) error { _, err := s.GetRefresh(ctx, id); return err })
	}
	for grant, want := range map[string]bool{"grant-old": false, "grant-live": true} {
		revoked, err := s.GrantRevoked(ctx, grant)
		if err != nil || revoked != want {
			t.Errorf("GrantRevoked(%s) after GC = %v, %v; want %v", grant, revoked, err, want)
		}
	}

	// Nothing is left to collect.
	got, err = s.GarbageCollect(ctx, now)
	if err != nil {
		t.Fatalf("second GarbageCollect: %v", err)
	}
	if got != (storage.GCResult{}) {
		t.Errorf("second GarbageCollect = %+v, want nothing removed", got)
	}

	// Later, everything with an expiry goes; the never-expiring token stays.
	got, err = s.GarbageCollect(ctx, live.Add(time.Second))
	if err != nil {
		t.Fatalf("third GarbageCollect: %v", err)
	}
	want = storage.GCResult{AuthRequests: 2, AuthCodes: 1, RefreshTokens: 1, RevokedGrants: 1}
	if got != want {
		t.Errorf("third GarbageCollect = %+v, want %+v", got, want)
	}
	if _, err := s.GetRefresh(ctx, "rt-never"); err != nil {
		t.Errorf("refresh token without expiry was collected: %v", err)
	}
}
