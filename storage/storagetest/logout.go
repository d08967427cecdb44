package storagetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/torii-idp/torii/storage"
)

func sampleDelivery(id string, due time.Time) storage.LogoutDelivery {
	return storage.LogoutDelivery{
		ID: id, ClientID: "client-a", URI: "https://app.example/backchannel",
		Subject: "CgR1aWQxEgRsZGFw", SessionID: "session-hash",
		CreatedAt: due, NextAttempt: due, Expiry: due.Add(time.Hour),
	}
}

func testLogoutDeliveries(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	now := baseTime().Truncate(time.Second)
	late := sampleDelivery("d-late", now.Add(time.Minute))
	first := sampleDelivery("d-first", now.Add(-2*time.Second))
	second := sampleDelivery("d-second", now.Add(-time.Second))
	for _, d := range []storage.LogoutDelivery{late, second, first} {
		if err := s.CreateLogoutDelivery(ctx, d); err != nil {
			t.Fatalf("CreateLogoutDelivery %s: %v", d.ID, err)
		}
	}
	if err := s.CreateLogoutDelivery(ctx, first); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("CreateLogoutDelivery twice = %v; want ErrAlreadyExists", err)
	}
	lease := now.Add(30 * time.Second)
	got, err := s.ClaimLogoutDeliveries(ctx, now, lease, 1)
	if err != nil {
		t.Fatalf("ClaimLogoutDeliveries: %v", err)
	}
	want := first
	want.NextAttempt, want.Attempts = lease, 1
	if len(got) != 1 {
		t.Fatalf("claimed %d deliveries with limit 1; want 1", len(got))
	}
	assertEqual(t, "claimed delivery", got[0], want)

	got, err = s.ClaimLogoutDeliveries(ctx, now, lease, 10)
	if err != nil {
		t.Fatalf("ClaimLogoutDeliveries: %v", err)
	}
	if len(got) != 1 || got[0].ID != "d-second" {
		t.Fatalf("second claim = %+v; want only d-second (d-first is leased, d-late not due)", got)
	}
	if got, _ := s.ClaimLogoutDeliveries(ctx, now, lease, 10); len(got) != 0 {
		t.Errorf("third claim at the same time = %d deliveries; want none", len(got))
	}

	retryAt := now.Add(10 * time.Second)
	if err := s.RescheduleLogoutDelivery(ctx, "d-first", retryAt, "connection refused"); err != nil {
		t.Fatalf("RescheduleLogoutDelivery: %v", err)
	}
	if got, _ := s.ClaimLogoutDeliveries(ctx, retryAt.Add(-time.Second), lease, 10); len(got) != 0 {
		t.Errorf("claim before the rescheduled time = %+v; want none", got)
	}
	got, err = s.ClaimLogoutDeliveries(ctx, retryAt, retryAt.Add(time.Minute), 10)
	if err != nil {
		t.Fatalf("ClaimLogoutDeliveries: %v", err)
	}
	want.NextAttempt, want.Attempts, want.LastError = retryAt.Add(time.Minute), 2, "connection refused"
	if len(got) != 1 {
		t.Fatalf("claim after the rescheduled time = %d deliveries; want 1", len(got))
	}
	assertEqual(t, "reclaimed delivery", got[0], want)

	// A lease that runs out (the claimer died) makes the delivery due again.
	got, err = s.ClaimLogoutDeliveries(ctx, lease.Add(2*time.Minute), lease.Add(3*time.Minute), 10)
	if err != nil {
		t.Fatalf("ClaimLogoutDeliveries: %v", err)
	}
	if len(got) != 3 {
		t.Errorf("claim after every lease ran out = %d deliveries; want 3", len(got))
	}

	for _, id := range []string{"d-first", "d-second", "d-late"} {
		if err := s.DeleteLogoutDelivery(ctx, id); err != nil {
			t.Errorf("DeleteLogoutDelivery %s: %v", id, err)
		}
	}
	if err := s.DeleteLogoutDelivery(ctx, "d-first"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("DeleteLogoutDelivery twice = %v; want ErrNotFound", err)
	}
	if err := s.RescheduleLogoutDelivery(ctx, "d-first", now, ""); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("RescheduleLogoutDelivery of a deleted one = %v; want ErrNotFound", err)
	}
	if got, _ := s.ClaimLogoutDeliveries(ctx, now.Add(24*time.Hour), now.Add(25*time.Hour), 10); len(got) != 0 {
		t.Errorf("claim after deleting everything = %d; want none", len(got))
	}
}

// testLogoutConcurrentClaims: replicas claiming at once never get the same
// delivery, and together they get every due one.
func testLogoutConcurrentClaims(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	now := baseTime().Truncate(time.Second)
	const n = 40
	for i := range n {
		if err := s.CreateLogoutDelivery(ctx, sampleDelivery(fmt.Sprintf("d-%02d", i), now)); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for range 8 {
		wg.Go(func() {
			for {
				got, err := s.ClaimLogoutDeliveries(ctx, now, now.Add(time.Minute), 3)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, d := range got {
					seen[d.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("claimed %d distinct deliveries; want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("delivery %s claimed %d times", id, c)
		}
	}
}

func testListSessionRefresh(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	a1 := sampleRefresh("r-a1", "fam-a")
	a1.SessionID = "sess-x"
	a1.RotatedAt = baseTime()
	a2 := sampleRefresh("r-a2", "fam-a")
	a2.SessionID = "sess-x"
	b := sampleRefresh("r-b", "fam-b")
	b.SessionID = "sess-x"
	b.Scopes = []string{"openid"}
	other := sampleRefresh("r-c", "fam-c")
	other.SessionID = "sess-y"
	none := sampleRefresh("r-d", "fam-d")
	none.SessionID = ""
	for _, r := range []*storage.RefreshToken{&a2, &b, &other, &none} {
		r.RotatedAt = time.Time{}
	}
	for _, r := range []storage.RefreshToken{a1, a2, b, other, none} {
		if err := s.CreateRefresh(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ListSessionRefresh(ctx, "sess-x")
	if err != nil {
		t.Fatalf("ListSessionRefresh: %v", err)
	}
	assertEqual(t, "session refresh tokens", got, []storage.RefreshToken{a2, b})
	if got, err := s.ListSessionRefresh(ctx, ""); err != nil || len(got) != 0 {
		t.Errorf("ListSessionRefresh(\"\") = %d, %v; want none (tokens without a session are no session's)", len(got), err)
	}
}
