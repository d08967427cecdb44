package dexmigrate

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/torii-idp/torii/internal/secret"
	"github.com/torii-idp/torii/server"
	"github.com/torii-idp/torii/storage"
	"github.com/torii-idp/torii/storage/memory"
)

func TestRefreshTokenString(t *testing.T) {
	// refresh_id = 1 ("abc"), token = 2 ("xyz"): 0a 03 a b c 12 03 x y z.
	want := base64.RawURLEncoding.EncodeToString([]byte("\x0a\x03abc\x12\x03xyz"))
	if got := RefreshTokenString("abc", "xyz"); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	long := strings.Repeat("k", 300) // a two-byte length varint
	for _, tc := range []struct{ id, tok string }{{"abc", "xyz"}, {"id", ""}, {long, long + "x"}} {
		id, tok, err := ParseRefreshTokenString(RefreshTokenString(tc.id, tc.tok))
		if err != nil || id != tc.id || tok != tc.tok {
			t.Fatalf("round trip of (%q, %q): (%q, %q, %v)", tc.id, tc.tok, id, tok, err)
		}
	}
	for _, bad := range []string{"!!", base64.RawURLEncoding.EncodeToString([]byte("\x0a\x09ab")), base64.RawURLEncoding.EncodeToString([]byte("\x08\x01"))} {
		if _, _, err := ParseRefreshTokenString(bad); err == nil {
			t.Fatalf("%q parsed", bad)
		}
	}
}

func testJWK(t *testing.T, kid string) []byte {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testSnapshot(t *testing.T, now time.Time) Snapshot {
	tok := func(id string, mod func(*RefreshToken)) RefreshToken {
		r := RefreshToken{
			ID: id, Token: "secret-" + id, CreatedAt: now.Add(-48 * time.Hour), LastUsed: now.Add(-time.Hour),
			ClientID: "app", Scopes: []string{"openid", "email", "offline_access"}, Nonce: "n",
			ConnectorID: "local", UserID: "u1", Username: "alice", Email: "alice@example.com", EmailVerified: true,
			Groups: []string{"admins"},
		}
		if mod != nil {
			mod(&r)
		}
		return r
	}
	return Snapshot{
		Keys: &Keys{
			SigningKeyPub: testJWK(t, "dex-signing"),
			VerificationKeys: []VerificationKey{
				{JWK: testJWK(t, "dex-old"), Expiry: now.Add(2 * time.Hour)},
				{JWK: testJWK(t, "dex-expired"), Expiry: now.Add(-time.Minute)},
			},
			NextRotation: now.Add(3 * time.Hour),
		},
		RefreshTokens: []RefreshToken{
			tok("good", nil),
			tok("rotated", func(r *RefreshToken) { r.ObsoleteToken = "previous" }),
			tok("ldap", func(r *RefreshToken) { r.ConnectorID = "ldap" }),
			tok("other", func(r *RefreshToken) { r.ClientID = "gone" }),
			tok("idle", func(r *RefreshToken) { r.LastUsed = now.Add(-40 * 24 * time.Hour) }),
			tok("legacy", func(r *RefreshToken) { r.Token = "" }),
			tok("viaapi", func(r *RefreshToken) { r.ClientID = "api-client" }),
		},
		Clients:         []Client{{ID: "api-client", Secret: "s3cret", RedirectURIs: []string{"https://a.example/cb"}}, {ID: "app", Secret: "x"}},
		Passwords:       []Password{{Email: "bob@example.com", Hash: []byte("$2a$10$x"), UserID: "u2", Groups: []string{"g"}}, {Email: "Alice@example.com"}},
		OfflineSessions: 2,
	}
}

func testOptions(now time.Time) Options {
	return Options{
		Now:               func() time.Time { return now },
		DexIDTokens:       time.Hour,
		Refresh:           server.RefreshExpiry{ValidIfNotUsedFor: 30 * 24 * time.Hour},
		Connectors:        map[string]bool{"local": true},
		Clients:           map[string]bool{"app": true},
		PasswordConnector: "local",
		StaticUsers:       map[string]bool{"alice@example.com": true},
	}
}

func outcomes(r *Report) map[string]string {
	m := map[string]string{}
	for _, it := range r.Items {
		m[it.Kind+" "+it.ID] = string(it.Outcome) + ": " + it.Reason
	}
	return m
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	snap := testSnapshot(t, now)
	store := memory.New()

	rep, err := Import(ctx, snap, store, testOptions(now))
	if err != nil {
		t.Fatal(err)
	}
	got := outcomes(rep)
	for key, prefix := range map[string]string{
		"key dex-signing":            "imported",
		"key dex-old":                "imported",
		"key dex-expired":            "skipped: expired",
		"refresh token good":         "imported",
		"refresh token rotated":      "imported",
		"refresh token ldap":         `skipped: connector "ldap" is not configured`,
		"refresh token other":        `skipped: client "gone" is not configured`,
		"refresh token idle":         "skipped: expired (unused",
		"refresh token viaapi":       "imported",
		"refresh token legacy":       "skipped: a pre-rotation Dex token",
		"client api-client":          "imported: secret stored hashed",
		"client app":                 "skipped: also a static client",
		"password bob@example.com":   "imported: torii's stored users have no groups: not kept",
		"password Alice@example.com": "skipped: also in torii's staticPasswords",
		"offline sessions 2":         "skipped: not needed",
	} {
		if !strings.HasPrefix(got[key], prefix) {
			t.Errorf("%s: %q, want %q...", key, got[key], prefix)
		}
	}

	// The current token is stored under the hash of the string Dex handed
	// out, in family dex:ID, with Dex's claims and times.
	r, err := store.GetRefresh(ctx, server.TokenID(RefreshTokenString("good", "secret-good")))
	if err != nil {
		t.Fatal(err)
	}
	if r.FamilyID != "dex:good" || r.ClientID != "app" || r.Claims.Email != "alice@example.com" || r.Claims.Groups[0] != "admins" ||
		!r.FamilyCreatedAt.Equal(now.Add(-48*time.Hour)) || !r.LastUsed.Equal(now.Add(-time.Hour)) || !r.RotatedAt.IsZero() ||
		!r.Expiry.Equal(now.Add(-time.Hour).Add(30*24*time.Hour)) {
		t.Fatalf("imported token: %+v", r)
	}
	// Dex's previous token is a rotated member of the same family, so its
	// replay revokes the family.
	old, err := store.GetRefresh(ctx, server.TokenID(RefreshTokenString("rotated", "previous")))
	if err != nil || old.FamilyID != "dex:rotated" || !old.RotatedAt.Equal(now.Add(-time.Hour)) {
		t.Fatalf("previous token: %+v, %v", old, err)
	}
	if _, err := store.GetRefresh(ctx, server.TokenID(RefreshTokenString("ldap", "secret-ldap"))); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a skipped token was stored: %v", err)
	}

	// Dex's API clients and stored passwords land in torii's storage, the
	// client secret hashed.
	cl, err := store.GetClient(ctx, "api-client")
	if err != nil || !secret.Verify(cl.SecretHash, "s3cret") || string(cl.SecretHash) == "s3cret" || cl.RedirectURIs[0] != "https://a.example/cb" {
		t.Fatalf("imported client: %+v, %v", cl, err)
	}
	if pw, err := store.GetPassword(ctx, "bob@example.com"); err != nil || pw.UserID != "u2" || string(pw.Hash) != "$2a$10$x" {
		t.Fatalf("imported password: %+v, %v", pw, err)
	}
	if _, err := store.GetClient(ctx, "app"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a Dex client shadowing a static one was stored: %v", err)
	}

	keys, err := store.GetKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exp := map[string]time.Time{}
	for _, rk := range keys.Retired {
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(rk.JWK); err != nil || !jwk.IsPublic() || jwk.Algorithm != "RS256" {
			t.Fatalf("retired key %s: %v", rk.JWK, err)
		}
		exp[jwk.KeyID] = rk.Expiry
	}
	// Dex's signing key signs until NextRotation; its tokens live an hour.
	if len(exp) != 2 || !exp["dex-signing"].Equal(now.Add(4*time.Hour+retireMargin)) || !exp["dex-old"].Equal(now.Add(2*time.Hour)) {
		t.Fatalf("retired keys: %v", exp)
	}
	if len(keys.Active) != 0 {
		t.Fatal("the import made a Dex key active; torii's signer makes its own")
	}

	// A second run changes nothing and says so.
	rep, err = Import(ctx, snap, store, testOptions(now))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Changed() || rep.Count(KindRefreshToken, Unchanged) != 3 || rep.Count(KindKey, Unchanged) != 2 ||
		rep.Count(KindClient, Unchanged) != 1 || rep.Count(KindPassword, Unchanged) != 1 {
		t.Fatalf("second run: %+v", rep.Items)
	}
	var out strings.Builder
	rep.Print(&out)
	if !strings.Contains(out.String(), "nothing changed") {
		t.Fatalf("second run report:\n%s", out.String())
	}

	// A family torii revoked stays revoked.
	if err := store.RevokeGrant(ctx, "dex:good", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	rep, err = Import(ctx, snap, store, testOptions(now))
	if err != nil {
		t.Fatal(err)
	}
	if o := outcomes(rep)["refresh token good"]; !strings.HasPrefix(o, "skipped: its torii family was revoked") {
		t.Fatalf("revoked family: %q", o)
	}
	if _, err := store.GetRefresh(ctx, server.TokenID(RefreshTokenString("good", "secret-good"))); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a revoked family came back: %v", err)
	}
}

func TestImportDryRun(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	store := memory.New()
	o := testOptions(now)
	o.DryRun = true
	rep, err := Import(ctx, testSnapshot(t, now), store, o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Count(KindRefreshToken, Imported) != 3 || rep.Count(KindKey, Imported) != 2 || rep.Count(KindClient, Imported) != 1 {
		t.Fatalf("dry run: %+v", rep.Items)
	}
	if _, err := store.GetClient(ctx, "api-client"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("dry run stored a client: %v", err)
	}
	if _, err := store.GetKeys(ctx); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("dry run stored keys: %v", err)
	}
	if _, err := store.GetRefresh(ctx, server.TokenID(RefreshTokenString("good", "secret-good"))); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("dry run stored a token: %v", err)
	}
	var out strings.Builder
	rep.Print(&out)
	for _, want := range []string{"would import:  refresh token good", "refresh tokens: 3 would import, 0 unchanged, 4 skipped", "dry run: torii's storage was not changed"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("dry-run report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestImportNoKeys(t *testing.T) {
	now := time.Now()
	rep, err := Import(context.Background(), Snapshot{}, memory.New(), testOptions(now))
	if err != nil {
		t.Fatal(err)
	}
	if o := outcomes(rep)["key -"]; !strings.HasPrefix(o, "skipped: Dex never stored signing keys") {
		t.Fatalf("no keys: %q", o)
	}
}

// A storage torii uses without Dex's signing key gets no Dex tokens unless
// forced: they could revive what torii rotated or revoked long ago.
func TestImportStale(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	store := memory.New()
	if err := store.UpdateKeys(ctx, func(k storage.Keys) (storage.Keys, error) {
		k.Retired = []storage.RetiredKey{{JWK: testJWK(t, "torii-own"), Expiry: now.Add(time.Hour)}}
		return k, nil
	}); err != nil {
		t.Fatal(err)
	}
	rep, err := Import(ctx, testSnapshot(t, now), store, testOptions(now))
	if err != nil {
		t.Fatal(err)
	}
	if o := outcomes(rep)["refresh token good"]; !strings.HasPrefix(o, "skipped: torii's storage is in use and no longer holds Dex's signing key") {
		t.Fatalf("stale import: %q", o)
	}
	if _, err := store.GetRefresh(ctx, server.TokenID(RefreshTokenString("good", "secret-good"))); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a stale import stored a token: %v", err)
	}
	o := testOptions(now)
	o.Force = true
	if rep, err = Import(ctx, testSnapshot(t, now), store, o); err != nil || rep.Count(KindRefreshToken, Imported) != 3 {
		t.Fatalf("forced: %v %+v", err, rep)
	}
}
