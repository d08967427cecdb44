package dextest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/oauth2"
	"gopkg.in/yaml.v3"

	"github.com/torii-idp/torii/internal/dexmigrate"
	"github.com/torii-idp/torii/internal/testlogin"
	"github.com/torii-idp/torii/internal/testpg"
)

const (
	clientID     = "example-app"
	clientSecret = "example-app-secret"
	aliceEmail   = "alice@example.com"
	alicePass    = "correct horse battery staple"
	reuseWindow  = time.Second
)

// TestImportDex runs the whole switch on each Dex storage type torii can
// read: log in through the real Dex, stop it, import, start the real torii
// on the same config file.
func TestImportDex(t *testing.T) {
	bins := buildPrograms(t)
	t.Run("sqlite3", func(t *testing.T) {
		dir := t.TempDir()
		switchFromDex(t, bins, dir, map[string]any{"type": "sqlite3", "config": map[string]any{"file": filepath.Join(dir, "dex.db")}})
	})
	t.Run("postgres", func(t *testing.T) {
		pc, err := pgconn.ParseConfig(testpg.DSN(t))
		if err != nil {
			t.Fatal(err)
		}
		cfg := map[string]any{"host": pc.Host, "port": pc.Port, "database": pc.Database, "user": pc.User, "ssl": map[string]string{"mode": "disable"}}
		if pc.Password != "" {
			cfg["password"] = pc.Password
		}
		switchFromDex(t, bins, t.TempDir(), map[string]any{"type": "postgres", "config": cfg})
	})
	t.Run("importDex at start", func(t *testing.T) {
		dir := t.TempDir()
		ds := loginAtDex(t, bins, dir, map[string]any{"type": "sqlite3", "config": map[string]any{"file": filepath.Join(dir, "dex.db")}}, false)
		// torii on its own database, importing Dex's on its first start.
		toriiCfg := writeConfig(t, filepath.Join(dir, "torii.yaml"), ds.issuer, ds.addr,
			map[string]any{"type": "sqlite3", "config": map[string]any{"file": filepath.Join(dir, "torii.db")}},
			map[string]any{"importDex": map[string]any{"config": ds.cfgPath}})
		torii := start(t, dir, "torii", bins.torii, "serve", toriiCfg)
		p := waitProvider(t, ds.issuer)
		v := p.Verifier(&oidc.Config{ClientID: clientID})
		if got := testlogin.VerifyClaims(t, v, ds.idToken); got.Subject != ds.claims.Subject {
			t.Fatalf("Dex's ID token: sub %q, want %q", got.Subject, ds.claims.Subject)
		}
		ds.oc.Endpoint = p.Endpoint()
		next := testlogin.Refresh(t, ds.oc, ds.tok.RefreshToken)
		if got := testlogin.VerifyClaims(t, v, testlogin.IDToken(t, next)); got.Subject != ds.claims.Subject || got.Email != aliceEmail || !slices.Equal(got.Groups, ds.claims.Groups) {
			t.Fatalf("refreshed claims %+v, want %+v", got, ds.claims)
		}
		// A restart does not read Dex again: the rotated Dex token stays
		// rotated, and its replay revokes the family.
		torii.stop(t)
		start(t, dir, "torii-restart", bins.torii, "serve", toriiCfg)
		waitProvider(t, ds.issuer)
		time.Sleep(reuseWindow + 500*time.Millisecond)
		testlogin.RefreshFails(t, ds.oc, ds.tok.RefreshToken, "the replayed Dex token after a restart")
		testlogin.RefreshFails(t, ds.oc, next.RefreshToken, "the family's newest token after the replay")
	})
	t.Run("clients and passwords from Dex's API", func(t *testing.T) {
		apiFromDex(t, bins, t.TempDir())
	})
	t.Run("Dex's previous token", func(t *testing.T) {
		// A token Dex had already rotated (its obsolete_token) is a rotated
		// member of the imported family: its replay at torii revokes it.
		dir := t.TempDir()
		ds := loginAtDex(t, bins, dir, map[string]any{"type": "sqlite3", "config": map[string]any{"file": filepath.Join(dir, "dex.db")}}, true)
		runTorii(t, bins, "import-dex", ds.cfgPath, ds.cfgPath)
		start(t, dir, "torii", bins.torii, "serve", ds.cfgPath)
		ds.oc.Endpoint = waitProvider(t, ds.issuer).Endpoint()
		time.Sleep(reuseWindow + 500*time.Millisecond)
		testlogin.RefreshFails(t, ds.oc, ds.previous, "Dex's previous token replayed at torii")
		testlogin.RefreshFails(t, ds.oc, ds.tok.RefreshToken, "Dex's current token after the replay")
	})
}

// dexSession is what a person holds after logging in through Dex.
type dexSession struct {
	addr, issuer, cfgPath string
	oc                    *oauth2.Config
	tok                   *oauth2.Token
	idToken               string
	claims                testlogin.Claims
	previous              string // the refresh token Dex rotated away, if any
}

// loginAtDex starts Dex on a new config with storageBlock, logs alice in
// with offline_access, and stops Dex.
// With refreshAtDex, the session refreshes once at Dex first.
func loginAtDex(t *testing.T, bins binaries, dir string, storageBlock map[string]any, refreshAtDex bool) *dexSession {
	ctx := t.Context()
	addr := freeAddr(t)
	issuer := "http://" + addr + "/dex"
	cfgPath := writeConfig(t, filepath.Join(dir, "config.yaml"), issuer, addr, storageBlock, nil)
	redirect := "http://127.0.0.1:5555/callback"

	// 1. Dex: alice logs in with offline_access.
	dex := start(t, dir, "dex", bins.dex, "serve", cfgPath)
	dexProvider := waitProvider(t, issuer)
	oc := &oauth2.Config{
		ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirect,
		Endpoint: dexProvider.Endpoint(),
		Scopes:   []string{oidc.ScopeOpenID, "email", "groups", "profile", oidc.ScopeOfflineAccess},
	}
	code := login(t, oc, aliceEmail, alicePass, "n-0S6_WzA2Mj")
	dexTok, err := oc.Exchange(ctx, code)
	if err != nil {
		t.Fatalf("Dex token exchange: %v", err)
	}
	dexIDToken, _ := dexTok.Extra("id_token").(string)
	if dexIDToken == "" || dexTok.RefreshToken == "" {
		t.Fatalf("Dex gave no ID token or refresh token: %+v", dexTok)
	}
	// The string Dex handed out is exactly what the import rebuilds from
	// the stored (refresh ID, token) pair.
	id, secret, err := dexmigrate.ParseRefreshTokenString(dexTok.RefreshToken)
	if err != nil || dexmigrate.RefreshTokenString(id, secret) != dexTok.RefreshToken {
		t.Fatalf("Dex's refresh token %q does not round-trip (%q, %v)", dexTok.RefreshToken, id, err)
	}
	want := testlogin.VerifyClaims(t, dexProvider.Verifier(&oidc.Config{ClientID: clientID}), dexIDToken)
	if want.Email != aliceEmail || !slices.Equal(want.Groups, []string{"admins", "developers"}) {
		t.Fatalf("Dex's ID token claims: %+v", want)
	}
	ds := &dexSession{addr: addr, issuer: issuer, cfgPath: cfgPath, oc: oc, tok: dexTok, idToken: dexIDToken, claims: want}
	if refreshAtDex {
		// Dex rotates (once the token is older than its reuse interval)
		// and keeps the previous token as obsolete_token.
		time.Sleep(reuseWindow + 500*time.Millisecond)
		ds.previous = dexTok.RefreshToken
		ds.tok = testlogin.Refresh(t, oc, dexTok.RefreshToken)
		if ds.tok.RefreshToken == ds.previous {
			t.Fatal("Dex did not rotate the refresh token")
		}
	}
	dex.stop(t)
	return ds
}

func switchFromDex(t *testing.T, bins binaries, dir string, storageBlock map[string]any) {
	ds := loginAtDex(t, bins, dir, storageBlock, false)
	cfgPath, issuer, oc, dexTok, dexIDToken, want := ds.cfgPath, ds.issuer, ds.oc, ds.tok, ds.idToken, ds.claims
	dexRows := dumpDex(t, storageBlock)

	// 2. Import: a dry run writes nothing, the import writes, a second
	// import changes nothing; Dex's tables are never touched.
	out := runTorii(t, bins, "import-dex", "--dry-run", cfgPath, cfgPath)
	mustContain(t, "dry run", out, "would import:  refresh token", "would import:  key", "refresh tokens: 1 would import, 0 unchanged, 0 skipped", "dry run: torii's storage was not changed")
	out = runTorii(t, bins, "import-dex", cfgPath, cfgPath)
	mustContain(t, "import", out, "imported:      refresh token", "refresh tokens: 1 imported, 0 unchanged, 0 skipped", "imported:      key")
	if strings.Contains(out, "nothing changed") {
		t.Fatalf("the first import after a dry run found nothing to do: the dry run wrote\n%s", out)
	}
	out = runTorii(t, bins, "import-dex", cfgPath, cfgPath)
	mustContain(t, "second import", out, "refresh tokens: 0 imported, 1 unchanged, 0 skipped", "nothing changed")
	out = runTorii(t, bins, "import-dex", "--dry-run", cfgPath, cfgPath)
	mustContain(t, "dry run after import", out, "dry run: nothing to import")
	if after := dumpDex(t, storageBlock); after != dexRows {
		t.Fatalf("the import changed Dex's tables:\nbefore:\n%s\nafter:\n%s", dexRows, after)
	}

	// 3. torii on the same config file.
	start(t, dir, "torii", bins.torii, "serve", cfgPath)
	toriiProvider := waitProvider(t, issuer)
	verifier := toriiProvider.Verifier(&oidc.Config{ClientID: clientID})
	oc.Endpoint = toriiProvider.Endpoint()

	// (a) The ID token Dex issued verifies against torii's issuer.
	if got := testlogin.VerifyClaims(t, verifier, dexIDToken); got.Subject != want.Subject {
		t.Fatalf("Dex's ID token verified with sub %q, want %q", got.Subject, want.Subject)
	}

	// (b) Dex's refresh token works at torii, for the same person.
	first := testlogin.Refresh(t, oc, dexTok.RefreshToken)
	got := testlogin.VerifyClaims(t, verifier, testlogin.IDToken(t, first))
	if got.Subject != want.Subject || got.Email != want.Email || !slices.Equal(got.Groups, want.Groups) {
		t.Fatalf("torii's refreshed claims %+v, want Dex's %+v", got, want)
	}
	if got.Nonce != want.Nonce {
		t.Fatalf("refreshed ID token nonce %q, want Dex's %q", got.Nonce, want.Nonce)
	}
	if first.RefreshToken == "" || first.RefreshToken == dexTok.RefreshToken {
		t.Fatal("torii did not rotate Dex's refresh token")
	}

	// (c) The next refresh rotates as usual.
	second := testlogin.Refresh(t, oc, first.RefreshToken)
	if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
		t.Fatal("the second refresh did not rotate")
	}
	if c := testlogin.VerifyClaims(t, verifier, testlogin.IDToken(t, second)); c.Subject != want.Subject {
		t.Fatalf("second refresh: sub %q", c.Subject)
	}

	// (d) A replay of Dex's token (outside the reuse window) revokes the
	// family: the newest token is dead too.
	time.Sleep(reuseWindow + 500*time.Millisecond)
	testlogin.RefreshFails(t, oc, dexTok.RefreshToken, "the replayed Dex token")
	testlogin.RefreshFails(t, oc, second.RefreshToken, "the family's newest token after the replay")

	// A later import does not bring the revoked family back.
	out = runTorii(t, bins, "import-dex", cfgPath, cfgPath)
	mustContain(t, "import after revocation", out, "its torii family was revoked", "nothing changed")
	testlogin.RefreshFails(t, oc, dexTok.RefreshToken, "Dex's token after a re-import")
}

func mustContain(t *testing.T, step, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Fatalf("%s: output lacks %q:\n%s", step, w, out)
		}
	}
}

// writeConfig writes a config.yaml both Dex and torii run on (extra keys
// replace or add top-level ones).
func writeConfig(t *testing.T, p, issuer, addr string, storageBlock, extra map[string]any) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(alicePass), bcrypt.MinCost+6)
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{
		"issuer":  issuer,
		"storage": storageBlock,
		"web":     map[string]any{"http": addr},
		"oauth2":  map[string]any{"skipApprovalScreen": false},
		"expiry":  map[string]any{"refreshTokens": map[string]any{"reuseInterval": reuseWindow.String()}},
		"staticClients": []map[string]any{{
			"id": clientID, "name": "Example App", "secret": clientSecret,
			"redirectURIs": []string{"http://127.0.0.1:5555/callback"},
		}},
		"enablePasswordDB": true,
		"staticPasswords": []map[string]any{{
			"email": aliceEmail, "hash": string(hash), "username": "alice",
			"userID": "08a8684b-db88-4b73-90a9-3cd1661f5466", "groups": []string{"admins", "developers"},
		}},
	}
	for k, v := range extra {
		cfg[k] = v
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type process struct {
	name string
	cmd  *exec.Cmd
	done chan error
}

// start runs a program with its output in dir/NAME.log; it is killed when
// the test ends if still running.
func start(t *testing.T, dir, name, bin string, args ...string) *process {
	t.Helper()
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); logf.Close() }()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("%s log:\n%s", name, b)
		}
	})
	return p
}

func (p *process) stop(t *testing.T) {
	t.Helper()
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// waitProvider waits for the issuer's discovery document.
func waitProvider(t *testing.T, issuer string) *oidc.Provider {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		p, err := oidc.NewProvider(ctx, issuer)
		cancel()
		if err == nil {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not come up: %v", issuer, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func runTorii(t *testing.T, bins binaries, args ...string) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), bins.torii, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("torii %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("torii %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}
