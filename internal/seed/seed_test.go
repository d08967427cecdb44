package seed

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/torii-idp/torii/storage/memory"
)

func TestRefreshSeedsFamilies(t *testing.T) {
	ctx := context.Background()
	s := memory.New()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	n, err := Refresh(ctx, s, Options{Families: 250, Rotated: 1, ClientID: "c", ConnectorID: "ldap", Writers: 7, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if n != 500 {
		t.Fatalf("wrote %d rows, want 500", n)
	}
	// Nothing is expired yet; everything is once the expiry has passed.
	res, err := s.GarbageCollect(ctx, now)
	if err != nil || res.RefreshTokens != 0 {
		t.Fatalf("GC at seeding time removed %d (%v), want 0", res.RefreshTokens, err)
	}
	res, err = s.GarbageCollect(ctx, now.Add(91*24*time.Hour))
	if err != nil || res.RefreshTokens != 500 {
		t.Fatalf("GC after expiry removed %d (%v), want 500", res.RefreshTokens, err)
	}
}

func TestRefreshSeedsExpired(t *testing.T) {
	ctx := context.Background()
	s := memory.New()
	now := time.Now()
	if _, err := Refresh(ctx, s, Options{Families: 40, Expired: true, Now: now}); err != nil {
		t.Fatal(err)
	}
	res, err := s.GarbageCollect(ctx, now)
	if err != nil || res.RefreshTokens != 40 {
		t.Fatalf("GC removed %d (%v), want 40 expired rows", res.RefreshTokens, err)
	}
}

func TestAllSeedsSessionsAndTheirFamilies(t *testing.T) {
	ctx := context.Background()
	s := memory.New()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	o := Options{Families: 30, Sessions: 10, ClientID: "c", ConnectorID: "ldap", Writers: 3, Now: now}
	n, err := All(ctx, s, o)
	if err != nil {
		t.Fatal(err)
	}
	if n != (Counts{RefreshTokens: 30, Sessions: 10}) {
		t.Fatalf("wrote %+v, want 30 refresh tokens and 10 sessions", n)
	}
	// Session i is user i's, and families 3, 13 and 23 were logged in with
	// session 3 (family i belongs to session i % 10).
	user := "uid=user0000003,ou=people,dc=example,dc=org"
	sessions, err := s.ListUserSessions(ctx, "ldap", user)
	if err != nil || len(sessions) != 1 {
		t.Fatalf("sessions of user 3: %d (%v), want 1", len(sessions), err)
	}
	ss := sessions[0]
	if !ss.Expiry().After(now) || len(ss.Clients) != 1 || ss.Clients[0] != "c" || len(ss.Consents["c"]) == 0 {
		t.Fatalf("seeded session is not a live session of client c: %+v", ss)
	}
	linked := 0
	for _, fam := range []int{3, 13, 23} {
		toks, err := s.ListUserRefresh(ctx, fmt.Sprintf("uid=user%07d,ou=people,dc=example,dc=org", fam), "ldap")
		if err != nil || len(toks) != 1 {
			t.Fatalf("family %d: %d tokens (%v), want 1", fam, len(toks), err)
		}
		if toks[0].SessionID == ss.ID {
			linked++
		}
	}
	if linked != 3 {
		t.Fatalf("%d of families 3, 13, 23 name session 3, want 3", linked)
	}
	// Two runs draw different keys: seeded session ids are not predictable.
	s2 := memory.New()
	if _, err := All(ctx, s2, o); err != nil {
		t.Fatal(err)
	}
	again, err := s2.ListUserSessions(ctx, "ldap", user)
	if err != nil || len(again) != 1 || again[0].ID == ss.ID {
		t.Fatalf("a second seed reused session id %q (%v)", ss.ID, err)
	}
	// All sessions expire with --expired.
	if _, err := All(ctx, s2, Options{Sessions: 5, Expired: true, Now: now}); err != nil {
		t.Fatal(err)
	}
	res, err := s2.GarbageCollect(ctx, now)
	if err != nil || res.Sessions != 5 {
		t.Fatalf("GC removed %d sessions (%v), want the 5 expired ones", res.Sessions, err)
	}
}

func TestSessionsNeedAKey(t *testing.T) {
	s := memory.New()
	if _, err := Sessions(context.Background(), s, Options{Sessions: 3}); err == nil {
		t.Fatal("Sessions without a SessionKey succeeded; its ids would be guessable")
	}
	if _, err := Refresh(context.Background(), s, Options{Families: 3, Sessions: 3}); err == nil {
		t.Fatal("Refresh naming sessions without a SessionKey succeeded")
	}
}
