package kubernetes_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/dexidp/dex/api/v2"
	"golang.org/x/oauth2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"gopkg.in/yaml.v3"

	"github.com/torii-idp/torii/internal/dexmigrate"
	"github.com/torii-idp/torii/internal/testlogin"
	"github.com/torii-idp/torii/storage/kubernetes"
)

const (
	dexClientID     = "example-app"
	dexClientSecret = "example-app-secret"
	dexRedirect     = "http://127.0.0.1:5555/callback"
	dexUser         = "alice@example.com"
	dexUserID       = "08a8684b-db88-4b73-90a9-3cd1661f5466"
	dexReuse        = time.Second
)

// TestImportDexKubernetes is the switch from the real Dex v2.45.1 on
// kubernetes storage: Dex runs against the test API server with the rights
// Dex's deployments grant, alice logs in with offline_access, Dex stops,
// `torii import-dex` reads Dex's objects with torii's rights only
// (deploy/base/rbac.yaml plus deploy/components/import-dex), and torii
// serves on kubernetes storage in the same namespace with the same config.
func TestImportDexKubernetes(t *testing.T) {
	dexBin, toriiBin := dexBinary(t), toriiBinary(t)
	admin := newAPI(t, shared, newToken(shared, "admin", []rule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}}))

	t.Run("import-dex", func(t *testing.T) {
		ns := namespace("dex")
		ds := loginAtDex(t, dexBin, ns, true)
		before := admin.versions(t, ns, dexPlurals)
		if admin.count(t, ns, "refreshtokens") != 2 || admin.count(t, ns, "signingkeies") != 1 ||
			admin.count(t, ns, "oauth2clients") != 1 || admin.count(t, ns, "passwords") != 1 {
			t.Fatalf("Dex's objects after the login: %v", before)
		}

		// Without the import component's Role torii may not read Dex's
		// objects, and says which rule to add.
		ds.useToken(t, newToken(shared, "system:serviceaccount:"+ns+":torii", saRules(t)))
		out := runFails(t, nil, toriiBin, "import-dex", ds.cfgPath, ds.cfgPath)
		mustContain(t, "import without the Role", out, "may not read Dex's signingkeies.dex.coreos.com in namespace "+ns, "deploy/components/import-dex")

		// The pod's service account is now torii's, with the component.
		ds.useToken(t, newToken(shared, "system:serviceaccount:"+ns+":torii", importRules(t)))
		out = runCmd(t, nil, toriiBin, "import-dex", "--dry-run", ds.cfgPath, ds.cfgPath)
		mustContain(t, "dry run", out, "Dex's storage: kubernetes, namespace "+ns+" at "+shared.url(),
			"would import:  refresh token", "would import:  key", "refresh tokens: 2 would import, 0 unchanged, 0 skipped",
			"would import:  client api-app", "would import:  password carol@example.com",
			"dry run: torii's storage was not changed")
		if n, k := admin.count(t, ns, "toriirefreshtokens"), admin.count(t, ns, "toriikeys"); n+k != 0 {
			t.Fatalf("the dry run wrote %d refresh tokens and %d keys objects", n, k)
		}
		out = runCmd(t, nil, toriiBin, "import-dex", ds.cfgPath, ds.cfgPath)
		mustContain(t, "import", out, "imported:      refresh token", "refresh tokens: 2 imported, 0 unchanged, 0 skipped", "imported:      key",
			"imported:      client api-app", "imported:      password carol@example.com", "clients: 1 imported", "passwords: 1 imported")
		if n := admin.count(t, ns, "toriirefreshtokens"); n != 2 {
			t.Fatalf("%d torii refresh tokens after the import, want 2", n)
		}
		written := admin.versions(t, ns, []string{"toriirefreshtokens", "toriikeys", "toriiclients", "toriipasswords"})
		out = runCmd(t, nil, toriiBin, "import-dex", ds.cfgPath, ds.cfgPath)
		mustContain(t, "second import", out, "refresh tokens: 0 imported, 2 unchanged, 0 skipped", "clients: 0 imported, 1 unchanged", "passwords: 0 imported, 1 unchanged", "nothing changed")
		if d := diffVersions(written, admin.versions(t, ns, []string{"toriirefreshtokens", "toriikeys", "toriiclients", "toriipasswords"})); d != "" {
			t.Fatalf("the second import changed torii's objects:\n%s", d)
		}
		mustContain(t, "dry run after import", runCmd(t, nil, toriiBin, "import-dex", "--dry-run", ds.cfgPath, ds.cfgPath), "dry run: nothing to import")
		if d := diffVersions(before, admin.versions(t, ns, dexPlurals)); d != "" {
			t.Fatalf("the import changed Dex's objects:\n%s", d)
		}

		// torii on the same config, the same namespace.
		startProc(t, "torii", nil, toriiBin, "serve", ds.cfgPath)
		ds.checkSwitch(t)
		ds.checkCarol(t)

		out = runCmd(t, nil, toriiBin, "import-dex", ds.cfgPath, ds.cfgPath)
		mustContain(t, "import after revocation", out, "its torii family was revoked", "nothing changed")
		testlogin.RefreshFails(t, ds.oc, ds.tok.RefreshToken, "Dex's token after a re-import")
		if d := diffVersions(before, admin.versions(t, ns, dexPlurals)); d != "" {
			t.Fatalf("torii changed Dex's objects:\n%s", d)
		}
	})

	t.Run("importDex at start, in cluster", func(t *testing.T) {
		// Kubeflow's way: torii replaces Dex in its namespace with Dex's
		// config (inCluster: true) plus importDex naming that same file.
		ns := namespace("dex")
		ds := loginAtDex(t, dexBin, ns, false)
		before := admin.versions(t, ns, dexPlurals)
		ds.writeConfig(t, map[string]any{"type": "kubernetes", "config": map[string]any{"inCluster": true}},
			map[string]any{"importDex": map[string]any{"config": ds.cfgPath}})
		saDir := serviceAccountDir(t, shared, newToken(shared, "system:serviceaccount:"+ns+":dex", importRules(t)), ns)
		env := []string{"KUBERNETES_SERVICE_HOST=" + shared.host, "KUBERNETES_SERVICE_PORT=" + shared.port, "TORII_SERVICE_ACCOUNT_DIR=" + saDir}
		torii := startProc(t, "torii", env, toriiBin, "serve", ds.cfgPath)
		ds.checkSwitch(t)
		if log := torii.logs.String(); !strings.Contains(log, "imported Dex's storage") || !strings.Contains(log, "namespace "+ns) {
			t.Fatalf("no import logged at start:\n%s", tail(log, 20))
		}
		// A restart does not read Dex again: the revoked family stays revoked.
		torii.stop()
		again := startProc(t, "torii-restart", env, toriiBin, "serve", ds.cfgPath)
		waitIssuer(t, ds.issuer)
		testlogin.RefreshFails(t, ds.oc, ds.tok.RefreshToken, "the replayed Dex token after a restart")
		if strings.Contains(again.logs.String(), "imported Dex's storage") {
			t.Fatal("the restart imported Dex's storage again")
		}
		if d := diffVersions(before, admin.versions(t, ns, dexPlurals)); d != "" {
			t.Fatalf("torii changed Dex's objects:\n%s", d)
		}
	})
}

// dexK8sSession is what alice holds after logging in through Dex.
type dexK8sSession struct {
	dir, namespace, addr, issuer, cfgPath, kubeconfig string
	oc                                                *oauth2.Config
	tok                                               *oauth2.Token
	idToken                                           string
	claims                                            testlogin.Claims
	// With Dex's gRPC API: carol, a user created through it, logged in
	// through a client created through it.
	carolOC  *oauth2.Config
	carolTok *oauth2.Token
	carol    testlogin.Claims
}

// loginAtDex runs Dex on kubernetes storage in ns (kubeConfigFile with
// Dex's rights), logs alice in with offline_access and stops Dex.
// With withAPI, carol and her client are created through Dex's gRPC API
// first (Dex then keeps them in its objects), and carol logs in too.
func loginAtDex(t *testing.T, dexBin, ns string, withAPI bool) *dexK8sSession {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	ds := &dexK8sSession{dir: t.TempDir(), namespace: ns, addr: fmt.Sprintf("127.0.0.1:%d", port)}
	ds.issuer = "http://" + ds.addr + "/dex"
	ds.cfgPath = filepath.Join(ds.dir, "config.yaml")
	ds.kubeconfig = filepath.Join(ds.dir, "kubeconfig")
	ds.useToken(t, newToken(shared, "system:serviceaccount:"+ns+":dex", dexRules()))
	var extra map[string]any
	grpcAddr := ""
	if withAPI {
		gp, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		grpcAddr = fmt.Sprintf("127.0.0.1:%d", gp)
		extra = map[string]any{"grpc": map[string]any{"addr": grpcAddr}}
	}
	ds.writeConfig(t, map[string]any{"type": "kubernetes", "config": map[string]any{"kubeConfigFile": ds.kubeconfig}}, extra)

	// Dex creates its CRDs at its first start, but does not wait until
	// they are served before listing connectors: it may exit once, and
	// the kubelet would start it again. So does this test (bounded).
	var dex *proc
	var p *oidc.Provider
	for attempt := 1; p == nil; attempt++ {
		dex = startProc(t, fmt.Sprintf("dex-%d", attempt), nil, dexBin, "serve", ds.cfgPath)
		p = waitUp(t, ds.issuer, dex)
		if p == nil && attempt == 3 {
			t.Fatalf("Dex exited %d times before serving:\n%s", attempt, tail(dex.logs.String(), 20))
		}
	}
	ds.oc = &oauth2.Config{ClientID: dexClientID, ClientSecret: dexClientSecret, RedirectURL: dexRedirect, Endpoint: p.Endpoint(),
		Scopes: []string{oidc.ScopeOpenID, "email", "groups", "profile", oidc.ScopeOfflineAccess}}
	code := testlogin.Login(t, ds.oc, dexUser, "password", "n-"+ns)
	ds.tok, err = ds.oc.Exchange(t.Context(), code)
	if err != nil {
		t.Fatalf("Dex token exchange: %v", err)
	}
	ds.idToken, _ = ds.tok.Extra("id_token").(string)
	if ds.idToken == "" || ds.tok.RefreshToken == "" {
		t.Fatalf("Dex gave no ID token or refresh token: %+v", ds.tok)
	}
	id, secret, err := dexmigrate.ParseRefreshTokenString(ds.tok.RefreshToken)
	if err != nil || dexmigrate.RefreshTokenString(id, secret) != ds.tok.RefreshToken {
		t.Fatalf("Dex's refresh token does not round-trip (%q, %v)", id, err)
	}
	ds.claims = testlogin.VerifyClaims(t, p.Verifier(&oidc.Config{ClientID: dexClientID}), ds.idToken)
	if ds.claims.Email != dexUser || !slices.Equal(ds.claims.Groups, []string{"admins", "developers"}) {
		t.Fatalf("Dex's ID token claims %+v", ds.claims)
	}
	if withAPI {
		ds.carolAtDex(t, grpcAddr, p)
	}
	dex.stop()
	return ds
}

// carolAtDex creates a client and a user through Dex's gRPC API (the
// email in mixed case: Dex keeps it lowercased, under a hashed name) and
// logs that user in through that client with offline_access.
func (ds *dexK8sSession) carolAtDex(t *testing.T, grpcAddr string, p *oidc.Provider) {
	t.Helper()
	ctx := t.Context()
	conn, err := grpc.NewClient("passthrough:///"+grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dc := api.NewDexClient(conn)
	redirect := "http://127.0.0.1:5555/api-callback"
	if _, err := dc.CreateClient(ctx, &api.CreateClientReq{Client: &api.Client{Id: "api-app", Secret: "api-app-secret", RedirectUris: []string{redirect}, Name: "API App"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := dc.CreatePassword(ctx, &api.CreatePasswordReq{Password: &api.Password{Email: "Carol@Example.com", Hash: []byte(kfHash), Username: "carol", UserId: "carol-id"}}); err != nil {
		t.Fatal(err)
	}
	ds.carolOC = &oauth2.Config{ClientID: "api-app", ClientSecret: "api-app-secret", RedirectURL: redirect, Endpoint: p.Endpoint(),
		Scopes: []string{oidc.ScopeOpenID, "email", oidc.ScopeOfflineAccess}}
	ds.carolTok, err = ds.carolOC.Exchange(ctx, testlogin.Login(t, ds.carolOC, "carol@example.com", "password", "n-carol"))
	if err != nil {
		t.Fatalf("carol at Dex: %v", err)
	}
	ds.carol = testlogin.VerifyClaims(t, p.Verifier(&oidc.Config{ClientID: "api-app"}), testlogin.IDToken(t, ds.carolTok))
}

// checkCarol: the client and user Dex kept in its objects work at torii:
// carol's Dex refresh token refreshes, and she logs in again at torii
// through the imported client with her imported password.
func (ds *dexK8sSession) checkCarol(t *testing.T) {
	t.Helper()
	p := waitIssuer(t, ds.issuer)
	oc := *ds.carolOC
	oc.Endpoint = p.Endpoint()
	v := p.Verifier(&oidc.Config{ClientID: "api-app"})
	next := testlogin.Refresh(t, &oc, ds.carolTok.RefreshToken)
	if got := testlogin.VerifyClaims(t, v, testlogin.IDToken(t, next)); got.Subject != ds.carol.Subject || got.Email != "carol@example.com" {
		t.Fatalf("carol's refreshed claims %+v, want %+v", got, ds.carol)
	}
	tok, err := oc.Exchange(t.Context(), testlogin.Login(t, &oc, "carol@example.com", "password", "n-carol-2"))
	if err != nil {
		t.Fatalf("carol's login at torii through the imported client: %v", err)
	}
	if got := testlogin.VerifyClaims(t, v, testlogin.IDToken(t, tok)); got.Subject != ds.carol.Subject {
		t.Fatalf("carol at torii: sub %q, want %q", got.Subject, ds.carol.Subject)
	}
}

// useToken makes the kubeconfig of the config file authenticate with token
// (the pod's service account changing from Dex's to torii's).
func (ds *dexK8sSession) useToken(t *testing.T, token string) {
	t.Helper()
	b, err := os.ReadFile(shared.kubeconfig(t, token, ds.namespace))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ds.kubeconfig, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// writeConfig writes the config.yaml Dex and torii both run on.
func (ds *dexK8sSession) writeConfig(t *testing.T, storageBlock, extra map[string]any) {
	t.Helper()
	cfg := map[string]any{
		"issuer":  ds.issuer,
		"storage": storageBlock,
		"web":     map[string]any{"http": ds.addr},
		"oauth2":  map[string]any{"skipApprovalScreen": false},
		"expiry":  map[string]any{"refreshTokens": map[string]any{"reuseInterval": dexReuse.String()}},
		"staticClients": []map[string]any{{
			"id": dexClientID, "name": "Example App", "secret": dexClientSecret, "redirectURIs": []string{dexRedirect},
		}},
		"enablePasswordDB": true,
		"staticPasswords": []map[string]any{{
			"email": dexUser, "hash": kfHash, "username": "alice", "userID": dexUserID, "groups": []string{"admins", "developers"},
		}},
	}
	for k, v := range extra {
		cfg[k] = v
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ds.cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// checkSwitch runs (a) to (d) against torii, which serves ds.issuer now.
func (ds *dexK8sSession) checkSwitch(t *testing.T) {
	t.Helper()
	p := waitIssuer(t, ds.issuer)
	v := p.Verifier(&oidc.Config{ClientID: dexClientID})
	oc := *ds.oc
	oc.Endpoint = p.Endpoint()
	ds.oc = &oc
	// (a) Dex's ID token verifies against torii's issuer.
	if got := testlogin.VerifyClaims(t, v, ds.idToken); got.Subject != ds.claims.Subject {
		t.Fatalf("Dex's ID token verified with sub %q, want %q", got.Subject, ds.claims.Subject)
	}
	// (b) Dex's refresh token works at torii, for the same person.
	first := testlogin.Refresh(t, ds.oc, ds.tok.RefreshToken)
	got := testlogin.VerifyClaims(t, v, testlogin.IDToken(t, first))
	if got.Subject != ds.claims.Subject || got.Email != ds.claims.Email || !slices.Equal(got.Groups, ds.claims.Groups) || got.Nonce != ds.claims.Nonce {
		t.Fatalf("torii's refreshed claims %+v, want Dex's %+v", got, ds.claims)
	}
	if first.RefreshToken == "" || first.RefreshToken == ds.tok.RefreshToken {
		t.Fatal("torii did not rotate Dex's refresh token")
	}
	// (c) The next refresh rotates as usual.
	second := testlogin.Refresh(t, ds.oc, first.RefreshToken)
	if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
		t.Fatal("the second refresh did not rotate")
	}
	if c := testlogin.VerifyClaims(t, v, testlogin.IDToken(t, second)); c.Subject != ds.claims.Subject {
		t.Fatalf("second refresh: sub %q", c.Subject)
	}
	// (d) A replay of Dex's token (past the reuse window) revokes the
	// family: the newest token is dead too.
	time.Sleep(dexReuse + 500*time.Millisecond)
	testlogin.RefreshFails(t, ds.oc, ds.tok.RefreshToken, "the replayed Dex token")
	testlogin.RefreshFails(t, ds.oc, second.RefreshToken, "the family's newest token after the replay")
}

// waitIssuer waits (bounded) for the issuer's discovery document.
func waitIssuer(t *testing.T, issuer string) *oidc.Provider {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		p, err := oidc.NewProvider(oidc.ClientContext(ctx, &http.Client{Timeout: 2 * time.Second}), issuer)
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

// waitUp waits (bounded) for the issuer served by p; nil if p exits first.
func waitUp(t *testing.T, issuer string, p *proc) *oidc.Provider {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case <-p.done:
			return nil
		default:
		}
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		prov, err := oidc.NewProvider(oidc.ClientContext(ctx, &http.Client{Timeout: 2 * time.Second}), issuer)
		cancel()
		if err == nil {
			return prov
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not come up: %v", issuer, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runFails runs a command that must fail and returns its output.
func runFails(t *testing.T, env []string, bin string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("%s %s succeeded:\n%s", filepath.Base(bin), strings.Join(args, " "), out)
	}
	return string(out)
}

// TestDexObjectsErrors: the real API server's answers for a kind it does
// not serve and for a reader without the import's rights become errors
// that say what to do.
func TestDexObjectsErrors(t *testing.T) {
	ns := namespace("dexerr")
	// The test webhook grants a user the rules of all its tokens: one
	// user per set of rights.
	open := func(user string, rules []rule) *kubernetes.DexObjects {
		d, err := kubernetes.OpenDexObjects(kubernetes.Config{KubeConfigFile: shared.kubeconfig(t, newToken(shared, "system:serviceaccount:"+ns+":"+user, rules), ns)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}
	noop := func([]byte) error { return nil }
	all := []rule{{APIGroups: []string{"dex.coreos.com"}, Resources: []string{"*"}, Verbs: []string{"get", "list"}}}
	err := open("reader", all).List(t.Context(), "nosuchkinds", func() {}, noop)
	if err == nil || !strings.Contains(err.Error(), "nosuchkinds.dex.coreos.com is not served by "+shared.url()) {
		t.Errorf("an unserved kind: %v", err)
	}
	_, err = dexmigrate.ReadObjects(t.Context(), open("torii", saRules(t)))
	if err == nil || !strings.Contains(err.Error(), "may not read Dex's signingkeies.dex.coreos.com in namespace "+ns) {
		t.Errorf("without the import's Role: %v", err)
	}
}
