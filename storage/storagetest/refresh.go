package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/torii-idp/torii/storage"
)

func sampleRefresh(id, family string) storage.RefreshToken {
	now := baseTime()
	return storage.RefreshToken{
		ID:              id,
		FamilyID:        family,
		ClientID:        "client-a",
		Scopes:          []string{"openid", "offline_access", "groups"},
		Nonce:           "nonce-1",
		ConnectorID:     "ldap",
		ConnectorData:   []byte{0x00, 0x10, 0x7f, 0x80, 0xfe},
		Claims:          sampleClaims(),
		FamilyCreatedAt: now.Add(-48 * time.Hour),
		CreatedAt:       now.Add(-time.Hour),
		LastUsed:        now.Add(-time.Minute),
		RotatedAt:       now.Add(-30 * time.Second),
		Expiry:          now.Add(30 * 24 * time.Hour),
		AuthTime:        now.Add(-48*time.Hour - time.Minute),
		SessionID:       "session-hash",
		SuccessorSeed:   []byte{0x00, 0x01, 0xfe, 0xff},
	}
}

func testRefreshCRUD(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	want := sampleRefresh("rt-1", "fam-1")
	if err := s.CreateRefresh(ctx, want); err != nil {
		t.Fatalf("CreateRefresh: %v", err)
	}
	// Zero times (RotatedAt, Expiry "never") must come back zero.
	sparse := storage.RefreshToken{ID: "rt-sparse", FamilyID: "fam-2", ClientID: "c", CreatedAt: baseTime()}
	if err := s.CreateRefresh(ctx, sparse); err != nil {
		t.Fatalf("CreateRefresh(sparse): %v", err)
	}
	got, err := s.GetRefresh(ctx, "rt-1")
	if err != nil {
		t.Fatalf("GetRefresh: %v", err)
	}
	assertEqual(t, "created refresh token", got, want)
	got, err = s.GetRefresh(ctx, "rt-sparse")
	if err != nil {
		t.Fatalf("GetRefresh(sparse): %v", err)
	}
	assertEqual(t, "sparse refresh token", got, sparse)
	if !got.RotatedAt.IsZero() || !got.Expiry.IsZero() {
		t.Errorf("zero times came back as RotatedAt=%v Expiry=%v", got.RotatedAt, got.Expiry)
	}

	updated := storage.RefreshToken{
		ID:              "rt-1",
		FamilyID:        "fam-1",
		ClientID:        "client-b",
		Scopes:          []string{"openid"},
		Nonce:           "",
		ConnectorID:     "static",
		ConnectorData:   []byte("new"),
		Claims:          storage.Claims{UserID: "u2", Username: "u2", Groups: []string{"g"}},
		FamilyCreatedAt: baseTime().Add(-47 * time.Hour),
		CreatedAt:       baseTime().Add(-59 * time.Minute),
		LastUsed:        baseTime(),
		RotatedAt:       time.Time{},
		Expiry:          time.Time{},
	}
	err = s.UpdateRefresh(ctx, "rt-1", func(old storage.RefreshToken) (storage.RefreshToken, error) {
		assertEqual(t, "refresh token seen by update", old, want)
		return updated, nil
	})
	if err != nil {
		t.Fatalf("UpdateRefresh: %v", err)
	}
	got, err = s.GetRefresh(ctx, "rt-1")
	if err != nil {
		t.Fatalf("GetRefresh after update: %v", err)
	}
	assertEqual(t, "updated refresh token", got, updated)

	if err := s.DeleteRefresh(ctx, "rt-1"); err != nil {
		t.Fatalf("DeleteRefresh: %v", err)
	}
	_, err = s.GetRefresh(ctx, "rt-1")
	mustNotFound(t, "GetRefresh after delete", err)
	if _, err := s.GetRefresh(ctx, "rt-sparse"); err != nil {
		t.Errorf("GetRefresh(sparse) after deleting rt-1: %v", err)
	}
}

func testRefreshUpdateAbort(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	want := sampleRefresh("rt-1", "fam-1")
	if err := s.CreateRefresh(ctx, want); err != nil {
		t.Fatalf("CreateRefresh: %v", err)
	}
	err := s.UpdateRefresh(ctx, "rt-1", func(r storage.RefreshToken) (storage.RefreshToken, error) {
		r.RotatedAt = time.Time{}
		r.LastUsed = baseTime().Add(time.Hour)
		return r, errAbort
	})
	if err != errAbort { //nolint:errorlint // the contract is "returned unchanged"
		t.Errorf("UpdateRefresh returned %v, want the update's own error unchanged", err)
	}
	got, err := s.GetRefresh(ctx, "rt-1")
	if err != nil {
		t.Fatalf("GetRefresh: %v", err)
	}
	assertEqual(t, "refresh token after aborted update", got, want)
}

var errAlreadyRotated = errors.New("storagetest: token already rotated")

// testRefreshConcurrentUpdates models concurrent use of one refresh token:
// only the first caller that sees it unrotated may rotate it.
func testRefreshConcurrentUpdates(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	r := sampleRefresh("rt-1", "fam-1")
	r.RotatedAt = time.Time{}
	if err := s.CreateRefresh(ctx, r); err != nil {
		t.Fatalf("CreateRefresh: %v", err)
	}
	errs := runConcurrently(concurrency, func(i int) error {
		return s.UpdateRefresh(ctx, "rt-1", func(r storage.RefreshToken) (storage.RefreshToken, error) {
			if !r.RotatedAt.IsZero() {
				return r, errAlreadyRotated
			}
			r.RotatedAt = baseTime().Add(time.Duration(i+1) * time.Second)
			return r, nil
		})
	})
	winners := 0
	for i, err := range errs {
		switch {
		case err == nil:
			winners++
		case err != errAlreadyRotated: //nolint:errorlint // returned unchanged
			t.Errorf("goroutine %d: unexpected error %v", i, err)
		}
	}
	if winners != 1 {
		t.Errorf("%d goroutines rotated the token, want exactly 1", winners)
	}
}

func testRevokeGrant(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	tokens := []storage.RefreshToken{
		sampleRefresh("rt-a1", "fam-a"),
		sampleRefresh("rt-a2", "fam-a"),
		sampleRefresh("rt-a3", "fam-a"),
		sampleRefresh("rt-b1", "fam-b"),
	}
	for _, r := range tokens {
		if err := s.CreateRefresh(ctx, r); err != nil {
			t.Fatalf("CreateRefresh(%s): %v", r.ID, err)
		}
	}
	revoked, err := s.GrantRevoked(ctx, "fam-a")
	if err != nil || revoked {
		t.Fatalf("GrantRevoked(fam-a) before revocation = %v, %v; want false, nil", revoked, err)
	}
	until := baseTime().Add(time.Hour)
	if err := s.RevokeGrant(ctx, "fam-a", until); err != nil {
		t.Fatalf("RevokeGrant: %v", err)
	}
	// Revoking twice, and revoking an unknown grant, are not errors.
	if err := s.RevokeGrant(ctx, "fam-a", until); err != nil {
		t.Errorf("second RevokeGrant: %v", err)
	}
	if err := s.RevokeGrant(ctx, "fam-unknown", until); err != nil {
		t.Errorf("RevokeGrant(unknown): %v", err)
	}
	for _, id := range []string{"rt-a1", "rt-a2", "rt-a3"} {
		_, err := s.GetRefresh(ctx, id)
		mustNotFound(t, "GetRefresh("+id+") after RevokeGrant", err)
	}
	got, err := s.GetRefresh(ctx, "rt-b1")
	if err != nil {
		t.Fatalf("GetRefresh(rt-b1) of another family: %v", err)
	}
	assertEqual(t, "refresh token of another family", got, tokens[3])

	cases := []struct {
		grant string
		want  bool
	}{
		{"fam-a", true},
		{"fam-unknown", true},
		{"fam-b", false},
		{"never-seen", false},
	}
	for _, c := range cases {
		got, err := s.GrantRevoked(ctx, c.grant)
		if err != nil {
			t.Errorf("GrantRevoked(%s): %v", c.grant, err)
		} else if got != c.want {
			t.Errorf("GrantRevoked(%s) = %v, want %v", c.grant, got, c.want)
		}
	}
}
