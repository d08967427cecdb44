package storagetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/torii-idp/torii/storage"
)

// sampleAuthRequest sets every field to a non-zero value, so a backend that
// forgets a column fails the round trip.
func sampleAuthRequest(id string) storage.AuthRequest {
	now := baseTime()
	return storage.AuthRequest{
		ID:                  id,
		ClientID:            "client-a",
		ResponseTypes:       []string{"code", "id_token"},
		Scopes:              []string{"openid", "email", "groups", "offline_access"},
		RedirectURI:         "https://app.example.com/callback?x=1",
		Nonce:               "nonce-1",
		State:               "state-1",
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		ForceApproval:       true,
		BrowserHash:         "browser-hash",
		ConnectorID:         "ldap",
		LoggedIn:            true,
		Claims:              sampleClaims(),
		ConnectorData:       []byte{0, 1, 2, 0xff, '"', '\''},
		AuthTime:            now.Add(-time.Minute),
		Expiry:              now.Add(24 * time.Hour),
		SessionID:           "session-hash",
		UILocales:           "ja-JP fr",
	}
}

func sampleClaims() storage.Claims {
	return storage.Claims{
		UserID:            "uid=jane,ou=people,dc=example,dc=org",
		Username:          "Jane Doe",
		PreferredUsername: "jane",
		Email:             "jane@example.org",
		EmailVerified:     true,
		Groups:            []string{"admins", "kubeflow-users", "ünïcode"},
	}
}

func testAuthRequestCRUD(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	want := sampleAuthRequest("req-1")
	if err := s.CreateAuthRequest(ctx, want); err != nil {
		t.Fatalf("CreateAuthRequest: %v", err)
	}
	// A second request with empty fields round-trips as well.
	sparse := storage.AuthRequest{ID: "req-sparse", ClientID: "c", Expiry: baseTime()}
	if err := s.CreateAuthRequest(ctx, sparse); err != nil {
		t.Fatalf("CreateAuthRequest(sparse): %v", err)
	}

	got, err := s.GetAuthRequest(ctx, "req-1")
	if err != nil {
		t.Fatalf("GetAuthRequest: %v", err)
	}
	assertEqual(t, "created auth request", got, want)
	got, err = s.GetAuthRequest(ctx, "req-sparse")
	if err != nil {
		t.Fatalf("GetAuthRequest(sparse): %v", err)
	}
	assertEqual(t, "sparse auth request", got, sparse)

	// Update every field; the update sees the stored row.
	updated := storage.AuthRequest{
		ID:                  "req-1",
		ClientID:            "client-b",
		ResponseTypes:       []string{"code"},
		Scopes:              []string{"openid"},
		RedirectURI:         "http://127.0.0.1:8000/cb",
		Nonce:               "nonce-2",
		State:               "state-2",
		CodeChallenge:       "plain-challenge",
		CodeChallengeMethod: "plain",
		ForceApproval:       false,
		BrowserHash:         "other-browser",
		ConnectorID:         "static",
		LoggedIn:            false,
		Claims:              storage.Claims{UserID: "u2", Username: "u2", EmailVerified: false},
		ConnectorData:       []byte("{}"),
		AuthTime:            baseTime().Add(time.Second),
		Expiry:              baseTime().Add(time.Hour),
	}
	err = s.UpdateAuthRequest(ctx, "req-1", func(old storage.AuthRequest) (storage.AuthRequest, error) {
		assertEqual(t, "auth request seen by update", old, want)
		return updated, nil
	})
	if err != nil {
		t.Fatalf("UpdateAuthRequest: %v", err)
	}
	got, err = s.GetAuthRequest(ctx, "req-1")
	if err != nil {
		t.Fatalf("GetAuthRequest after update: %v", err)
	}
	assertEqual(t, "updated auth request", got, updated)

	if err := s.DeleteAuthRequest(ctx, "req-1"); err != nil {
		t.Fatalf("DeleteAuthRequest: %v", err)
	}
	_, err = s.GetAuthRequest(ctx, "req-1")
	mustNotFound(t, "GetAuthRequest after delete", err)
	// The other row is untouched.
	if _, err := s.GetAuthRequest(ctx, "req-sparse"); err != nil {
		t.Errorf("GetAuthRequest(sparse) after deleting req-1: %v", err)
	}
}

func testAuthRequestUpdateAbort(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	want := sampleAuthRequest("req-1")
	if err := s.CreateAuthRequest(ctx, want); err != nil {
		t.Fatalf("CreateAuthRequest: %v", err)
	}
	err := s.UpdateAuthRequest(ctx, "req-1", func(a storage.AuthRequest) (storage.AuthRequest, error) {
		a.LoggedIn = false
		a.ClientID = "changed"
		return a, errAbort
	})
	if err != errAbort { //nolint:errorlint // the contract is "returned unchanged"
		t.Errorf("UpdateAuthRequest returned %v, want the update's own error unchanged", err)
	}
	got, err := s.GetAuthRequest(ctx, "req-1")
	if err != nil {
		t.Fatalf("GetAuthRequest: %v", err)
	}
	assertEqual(t, "auth request after aborted update", got, want)
}

// testAuthRequestConcurrentUpdates appends one group per goroutine; an
// update that is not atomic loses some.
func testAuthRequestConcurrentUpdates(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	a := sampleAuthRequest("req-1")
	a.Claims.Groups = nil
	if err := s.CreateAuthRequest(ctx, a); err != nil {
		t.Fatalf("CreateAuthRequest: %v", err)
	}
	errs := runConcurrently(concurrency, func(i int) error {
		return s.UpdateAuthRequest(ctx, "req-1", func(a storage.AuthRequest) (storage.AuthRequest, error) {
			a.Claims.Groups = append(a.Claims.Groups, id("group", i))
			return a, nil
		})
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("UpdateAuthRequest: %v", err)
	}
	got, err := s.GetAuthRequest(ctx, "req-1")
	if err != nil {
		t.Fatalf("GetAuthRequest: %v", err)
	}
	groups := slices.Sorted(slices.Values(got.Claims.Groups))
	var want []string
	for i := range concurrency {
		want = append(want, id("group", i))
	}
	if !slices.Equal(groups, want) {
		t.Errorf("after %d concurrent appends got groups %v, want %v", concurrency, groups, want)
	}
}

// testAuthRequestNoAliasing checks that the caller's slices and the stored
// row are independent in both directions.
func testAuthRequestNoAliasing(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	in := sampleAuthRequest("req-1")
	want := sampleAuthRequest("req-1")
	if err := s.CreateAuthRequest(ctx, in); err != nil {
		t.Fatalf("CreateAuthRequest: %v", err)
	}
	in.Scopes[0] = "mutated"
	in.Claims.Groups[0] = "mutated"
	in.ConnectorData[0] = 'X'
	in.ResponseTypes[0] = "mutated"

	got, err := s.GetAuthRequest(ctx, "req-1")
	if err != nil {
		t.Fatalf("GetAuthRequest: %v", err)
	}
	assertEqual(t, "auth request after mutating the created value", got, want)
	got.Scopes[0] = "mutated"
	got.Claims.Groups[0] = "mutated"
	got.ConnectorData[0] = 'X'

	err = s.UpdateAuthRequest(ctx, "req-1", func(a storage.AuthRequest) (storage.AuthRequest, error) {
		// Mutating what the update sees, then aborting, must leave no trace.
		a.Scopes[0] = "mutated-in-update"
		a.Claims.Groups[0] = "mutated-in-update"
		a.ConnectorData[0] = 'Y'
		return a, errAbort
	})
	if err != errAbort { //nolint:errorlint // the contract is "returned unchanged"
		t.Fatalf("UpdateAuthRequest returned %v, want errAbort", err)
	}
	again, err := s.GetAuthRequest(ctx, "req-1")
	if err != nil {
		t.Fatalf("GetAuthRequest: %v", err)
	}
	assertEqual(t, "auth request after mutating returned values", again, want)
}
