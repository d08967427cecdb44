package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/torii-idp/torii/storage"
)

func sampleAuthCode(id string) storage.AuthCode {
	now := baseTime()
	return storage.AuthCode{
		ID:                  id,
		ClientID:            "client-a",
		RedirectURI:         "https://app.example.com/callback",
		Nonce:               "nonce-1",
		Scopes:              []string{"openid", "profile", "offline_access"},
		ConnectorID:         "ldap",
		ConnectorData:       []byte(`{"dn":"uid=jane"}`),
		Claims:              sampleClaims(),
		CodeChallenge:       "challenge",
		CodeChallengeMethod: "S256",
		AuthTime:            now.Add(-2 * time.Minute),
		Expiry:              now.Add(10 * time.Minute),
		Redeemed:            true,
		GrantID:             "grant-1",
		SessionID:           "session-hash",
	}
}

func testAuthCodeCRUD(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	want := sampleAuthCode("code-1")
	if err := s.CreateAuthCode(ctx, want); err != nil {
		t.Fatalf("CreateAuthCode: %v", err)
	}
	sparse := storage.AuthCode{ID: "code-sparse", ClientID: "c", Expiry: baseTime()}
	if err := s.CreateAuthCode(ctx, sparse); err != nil {
		t.Fatalf("CreateAuthCode(sparse): %v", err)
	}
	got, err := s.GetAuthCode(ctx, "code-1")
	if err != nil {
		t.Fatalf("GetAuthCode: %v", err)
	}
	assertEqual(t, "created auth code", got, want)
	got, err = s.GetAuthCode(ctx, "code-sparse")
	if err != nil {
		t.Fatalf("GetAuthCode(sparse): %v", err)
	}
	assertEqual(t, "sparse auth code", got, sparse)

	updated := storage.AuthCode{
		ID:                  "code-1",
		ClientID:            "client-b",
		RedirectURI:         "urn:ietf:wg:oauth:2.0:oob",
		Nonce:               "nonce-2",
		Scopes:              []string{"openid"},
		ConnectorID:         "static",
		ConnectorData:       nil,
		Claims:              storage.Claims{UserID: "u2", Username: "u2"},
		CodeChallenge:       "",
		CodeChallengeMethod: "",
		AuthTime:            baseTime().Add(3 * time.Second),
		Expiry:              baseTime().Add(5 * time.Minute),
		Redeemed:            false,
		GrantID:             "",
	}
	err = s.UpdateAuthCode(ctx, "code-1", func(old storage.AuthCode) (storage.AuthCode, error) {
		assertEqual(t, "auth code seen by update", old, want)
		return updated, nil
	})
	if err != nil {
		t.Fatalf("UpdateAuthCode: %v", err)
	}
	got, err = s.GetAuthCode(ctx, "code-1")
	if err != nil {
		t.Fatalf("GetAuthCode after update: %v", err)
	}
	assertEqual(t, "updated auth code", got, updated)

	if err := s.DeleteAuthCode(ctx, "code-1"); err != nil {
		t.Fatalf("DeleteAuthCode: %v", err)
	}
	_, err = s.GetAuthCode(ctx, "code-1")
	mustNotFound(t, "GetAuthCode after delete", err)
	if _, err := s.GetAuthCode(ctx, "code-sparse"); err != nil {
		t.Errorf("GetAuthCode(sparse) after deleting code-1: %v", err)
	}
}

func testAuthCodeUpdateAbort(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	want := sampleAuthCode("code-1")
	if err := s.CreateAuthCode(ctx, want); err != nil {
		t.Fatalf("CreateAuthCode: %v", err)
	}
	err := s.UpdateAuthCode(ctx, "code-1", func(c storage.AuthCode) (storage.AuthCode, error) {
		c.Redeemed = false
		c.GrantID = "other"
		return c, errAbort
	})
	if err != errAbort { //nolint:errorlint // the contract is "returned unchanged"
		t.Errorf("UpdateAuthCode returned %v, want the update's own error unchanged", err)
	}
	got, err := s.GetAuthCode(ctx, "code-1")
	if err != nil {
		t.Fatalf("GetAuthCode: %v", err)
	}
	assertEqual(t, "auth code after aborted update", got, want)
}

var errAlreadyRedeemed = errors.New("storagetest: code already redeemed")

// testAuthCodeConcurrentRedeem models the token endpoint: many requests
// present the same code at once and exactly one may redeem it.
func testAuthCodeConcurrentRedeem(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	c := sampleAuthCode("code-1")
	c.Redeemed = false
	c.GrantID = ""
	if err := s.CreateAuthCode(ctx, c); err != nil {
		t.Fatalf("CreateAuthCode: %v", err)
	}
	errs := runConcurrently(concurrency, func(i int) error {
		return s.UpdateAuthCode(ctx, "code-1", func(c storage.AuthCode) (storage.AuthCode, error) {
			if c.Redeemed {
				return c, errAlreadyRedeemed
			}
			c.Redeemed = true
			c.GrantID = id("grant", i)
			return c, nil
		})
	})
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("goroutines %d and %d both redeemed the code", winner, i)
		case err == nil:
			winner = i
		case err != errAlreadyRedeemed: //nolint:errorlint // returned unchanged
			t.Errorf("goroutine %d: unexpected error %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no goroutine redeemed the code")
	}
	got, err := s.GetAuthCode(ctx, "code-1")
	if err != nil {
		t.Fatalf("GetAuthCode: %v", err)
	}
	if !got.Redeemed || got.GrantID != id("grant", winner) {
		t.Errorf("stored code Redeemed=%v GrantID=%q, want true and %q", got.Redeemed, got.GrantID, id("grant", winner))
	}
}
