package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/torii-idp/torii/storage"
)

func sampleClient(id string) storage.Client {
	return storage.Client{
		ID:                               id,
		SecretHash:                       []byte("sha256:" + id),
		RedirectURIs:                     []string{"https://app.example/callback", "http://127.0.0.1/cb"},
		TrustedPeers:                     []string{"peer-a"},
		Name:                             "App " + id,
		LogoURL:                          "https://app.example/logo.png",
		PostLogoutRedirectURIs:           []string{"https://app.example/signed-out"},
		BackchannelLogoutURI:             "https://app.example/backchannel",
		BackchannelLogoutSessionRequired: true,
	}
}

func samplePassword(email string) storage.Password {
	return storage.Password{
		Email:    email,
		Hash:     []byte("$2a$10$2b2cU8CPhOTaGrs1HRQuAueS7JTT5ZHsHSzYiFPm1leZck7Mc8T4W"),
		Username: "jane",
		UserID:   "uid-" + email,
	}
}

func testClientCRUD(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	want := sampleClient("app-b")
	if err := s.CreateClient(ctx, want); err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	public := storage.Client{ID: "app-a", Public: true}
	if err := s.CreateClient(ctx, public); err != nil {
		t.Fatalf("CreateClient public: %v", err)
	}
	if err := s.CreateClient(ctx, sampleClient("app-b")); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("CreateClient twice: %v, want ErrAlreadyExists", err)
	}
	got, err := s.GetClient(ctx, "app-b")
	if err != nil {
		t.Fatalf("GetClient: %v", err)
	}
	assertEqual(t, "client", got, want)
	got, err = s.GetClient(ctx, "app-a")
	if err != nil {
		t.Fatalf("GetClient public: %v", err)
	}
	assertEqual(t, "public client", got, public)

	// Callers must not reach the stored slices.
	got.RedirectURIs = append(got.RedirectURIs, "https://evil.example/")
	want.RedirectURIs[0] = "https://changed.example/"
	want = sampleClient("app-b")

	err = s.UpdateClient(ctx, "app-b", func(c storage.Client) (storage.Client, error) {
		assertEqual(t, "client seen by update", c, want)
		c.ID = "ignored"
		c.RedirectURIs = []string{"https://new.example/cb"}
		c.Name = "Renamed"
		return c, nil
	})
	if err != nil {
		t.Fatalf("UpdateClient: %v", err)
	}
	want.RedirectURIs, want.Name = []string{"https://new.example/cb"}, "Renamed"
	if got, err = s.GetClient(ctx, "app-b"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "updated client", got, want)
	if _, err := s.GetClient(ctx, "ignored"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("update moved the client to a new id: %v", err)
	}
	if err := s.UpdateClient(ctx, "app-b", func(c storage.Client) (storage.Client, error) {
		c.Name = "aborted"
		return c, errAbort
	}); !errors.Is(err, errAbort) {
		t.Errorf("UpdateClient abort: %v, want the update's error", err)
	}
	if got, _ := s.GetClient(ctx, "app-b"); got.Name != "Renamed" {
		t.Errorf("aborted update was written: name %q", got.Name)
	}

	list, err := s.ListClients(ctx)
	if err != nil {
		t.Fatalf("ListClients: %v", err)
	}
	assertEqual(t, "client list", list, []storage.Client{public, want})

	if err := s.DeleteClient(ctx, "app-b"); err != nil {
		t.Fatalf("DeleteClient: %v", err)
	}
	mustNotFound(t, "DeleteClient twice", s.DeleteClient(ctx, "app-b"))
	_, err = s.GetClient(ctx, "app-b")
	mustNotFound(t, "GetClient after delete", err)
	mustNotFound(t, "UpdateClient unknown", s.UpdateClient(ctx, "nope", func(c storage.Client) (storage.Client, error) { return c, nil }))
	if list, err = s.ListClients(ctx); err != nil || len(list) != 1 {
		t.Errorf("ListClients after delete: %v %v", list, err)
	}
}

func testPasswordCRUD(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	want := samplePassword("Jane@Example.COM")
	if err := s.CreatePassword(ctx, want); err != nil {
		t.Fatalf("CreatePassword: %v", err)
	}
	want.Email = "jane@example.com" // stored lower-cased, as Dex does
	for _, email := range []string{"jane@example.com", "JANE@example.com"} {
		got, err := s.GetPassword(ctx, email)
		if err != nil {
			t.Fatalf("GetPassword(%q): %v", email, err)
		}
		assertEqual(t, "password", got, want)
	}
	if err := s.CreatePassword(ctx, samplePassword("jane@EXAMPLE.com")); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("CreatePassword same email in other case: %v, want ErrAlreadyExists", err)
	}
	alice := samplePassword("alice@example.com")
	if err := s.CreatePassword(ctx, alice); err != nil {
		t.Fatal(err)
	}
	err := s.UpdatePassword(ctx, "JANE@example.com", func(p storage.Password) (storage.Password, error) {
		assertEqual(t, "password seen by update", p, want)
		p.Email = "other@example.com"
		p.Username = "janed"
		p.Hash = []byte("$2a$10$new")
		return p, nil
	})
	if err != nil {
		t.Fatalf("UpdatePassword: %v", err)
	}
	want.Username, want.Hash = "janed", []byte("$2a$10$new")
	got, err := s.GetPassword(ctx, "jane@example.com")
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "updated password", got, want)
	_, err = s.GetPassword(ctx, "other@example.com")
	mustNotFound(t, "update moved the password", err)
	if err := s.UpdatePassword(ctx, "jane@example.com", func(p storage.Password) (storage.Password, error) {
		return p, errAbort
	}); !errors.Is(err, errAbort) {
		t.Errorf("UpdatePassword abort: %v", err)
	}
	mustNotFound(t, "UpdatePassword unknown", s.UpdatePassword(ctx, "nobody@example.com", func(p storage.Password) (storage.Password, error) { return p, nil }))

	list, err := s.ListPasswords(ctx)
	if err != nil {
		t.Fatalf("ListPasswords: %v", err)
	}
	assertEqual(t, "password list", list, []storage.Password{alice, want})

	if err := s.DeletePassword(ctx, "Jane@example.com"); err != nil {
		t.Fatalf("DeletePassword: %v", err)
	}
	mustNotFound(t, "DeletePassword twice", s.DeletePassword(ctx, "jane@example.com"))
	_, err = s.GetPassword(ctx, "jane@example.com")
	mustNotFound(t, "GetPassword after delete", err)
}

func testListUserRefresh(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	current := func(id, family, user, conn string) storage.RefreshToken {
		r := sampleRefresh(id, family)
		r.RotatedAt = time.Time{}
		r.Claims.UserID, r.ConnectorID = user, conn
		return r
	}
	rotated := sampleRefresh("rt-0", "fam-b")
	rotated.Claims.UserID, rotated.ConnectorID = "u1", "local"
	tokens := []storage.RefreshToken{
		current("rt-3", "fam-b", "u1", "local"),
		current("rt-1", "fam-a", "u1", "local"),
		rotated,
		current("rt-2", "fam-c", "u1", "ldap"), // same user id, other connector
		current("rt-4", "fam-d", "u2", "local"),
	}
	for _, r := range tokens {
		if err := s.CreateRefresh(ctx, r); err != nil {
			t.Fatalf("CreateRefresh %s: %v", r.ID, err)
		}
	}
	got, err := s.ListUserRefresh(ctx, "u1", "local")
	if err != nil {
		t.Fatalf("ListUserRefresh: %v", err)
	}
	assertEqual(t, "u1's tokens", got, []storage.RefreshToken{tokens[1], tokens[0]})
	got, err = s.ListUserRefresh(ctx, "nobody", "local")
	if err != nil || len(got) != 0 {
		t.Errorf("ListUserRefresh unknown user: %v %v, want nothing", got, err)
	}
	if err := s.RevokeGrant(ctx, "fam-a", baseTime()); err != nil {
		t.Fatal(err)
	}
	got, _ = s.ListUserRefresh(ctx, "u1", "local")
	assertEqual(t, "u1's tokens after revoking fam-a", got, []storage.RefreshToken{tokens[0]})
}

func testAdminCancelledContext(t *testing.T, s storage.Storage) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	calls := map[string]func() error{
		"CreateClient": func() error { return s.CreateClient(cancelled, sampleClient("c")) },
		"GetClient":    func() error { _, err := s.GetClient(cancelled, "c"); return err },
		"UpdateClient": func() error {
			return s.UpdateClient(cancelled, "c", func(c storage.Client) (storage.Client, error) { return c, nil })
		},
		"DeleteClient":   func() error { return s.DeleteClient(cancelled, "c") },
		"ListClients":    func() error { _, err := s.ListClients(cancelled); return err },
		"CreatePassword": func() error { return s.CreatePassword(cancelled, samplePassword("a@b")) },
		"GetPassword":    func() error { _, err := s.GetPassword(cancelled, "a@b"); return err },
		"UpdatePassword": func() error {
			return s.UpdatePassword(cancelled, "a@b", func(p storage.Password) (storage.Password, error) { return p, nil })
		},
		"DeletePassword":  func() error { return s.DeletePassword(cancelled, "a@b") },
		"ListPasswords":   func() error { _, err := s.ListPasswords(cancelled); return err },
		"ListUserRefresh": func() error { _, err := s.ListUserRefresh(cancelled, "u", "c"); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			if err := call(); !errors.Is(err, context.Canceled) {
				t.Errorf("got error %v, want context.Canceled", err)
			}
		})
	}
	if list, err := s.ListClients(context.Background()); err != nil || len(list) != 0 {
		t.Errorf("a client was created with a cancelled context: %v %v", list, err)
	}
}
