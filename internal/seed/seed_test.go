package seed

import (
	"context"
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
