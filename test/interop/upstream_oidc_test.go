package interop

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/torii-idp/torii/internal/testslapd"
)

// upstreamOP is oidc-provider (node/op.mjs) running as torii's upstream.
type upstreamOP struct {
	Issuer  string `json:"issuer"`
	Control string `json:"control"`
	log     string
}

const (
	upstreamSecret = "upstream-client-secret"
	otherAppID     = "other-app"
	otherAppSecret = "other-app-secret"
	otherAppRedir  = "http://127.0.0.1:9/other"
)

// startUpstreamOP runs node/op.mjs with the suite's certificate and two
// clients: torii (redirect to torii's /callback) and another app.
func (s *suite) startUpstreamOP(t *testing.T, toriiIssuer string) *upstreamOP {
	t.Helper()
	dir := nodeDir(t)
	port := strings.TrimPrefix(freePort(t), "127.0.0.1:")
	controlPort := strings.TrimPrefix(freePort(t), "127.0.0.1:")
	cfg := map[string]any{
		"port": port, "controlPort": controlPort, "cert": s.ca.CertFile, "key": s.ca.KeyFile,
		"clients": []map[string]any{
			{"client_id": "torii", "client_secret": upstreamSecret, "redirect_uris": []string{toriiIssuer + "/callback"},
				"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"}},
			{"client_id": otherAppID, "client_secret": otherAppSecret, "redirect_uris": []string{otherAppRedir},
				"grant_types": []string{"authorization_code"}, "response_types": []string{"code"}},
		},
	}
	b, _ := json.Marshal(cfg)
	cfgPath := filepath.Join(s.dir, "op.json")
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(s.artifacts, "oidc-provider.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "op.mjs", cfgPath)
	cmd.Dir = dir
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("node op.mjs: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
	})
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		io.Copy(io.Discard, out)
	}()
	select {
	case l := <-line:
		op := &upstreamOP{log: logPath}
		if err := json.Unmarshal([]byte(l), op); err != nil {
			t.Fatalf("oidc-provider printed %q: %v\n%s", l, err, tail(logPath, 20))
		}
		return op
	case <-time.After(60 * time.Second):
		t.Fatalf("oidc-provider did not start:\n%s", tail(logPath, 20))
	}
	return nil
}

func (op *upstreamOP) control(t *testing.T, action, account string) {
	t.Helper()
	resp, err := http.Post(op.Control+"/"+action+"?account="+account, "text/plain", nil)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("oidc-provider control %s %s: %v %v", action, account, err, resp)
	}
	resp.Body.Close()
}

// dexSub is Dex's sub for a user ID and connector ID (protobuf fields 1
// and 2, base64url without padding), computed here independently of torii.
func dexSub(userID, connID string) string {
	b := append([]byte{0x0a, byte(len(userID))}, userID...)
	b = append(b, 0x12, byte(len(connID)))
	b = append(b, connID...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// upstreamLogin walks the browser through oidc-provider's login and consent
// pages, from p (its login page) until the browser leaves the provider.
func upstreamLogin(b *browser, op *upstreamOP, p *page, login string) (*page, error) {
	for i := 0; i < 4 && p.Location == "" && strings.HasPrefix(p.URL.String(), op.Issuer); i++ {
		fs, err := forms(p.Body)
		if err != nil || len(fs) == 0 {
			return p, fmt.Errorf("no form on the provider's page: %s", p)
		}
		set := map[string]string{}
		if fs[0].Fields.Get("prompt") == "login" {
			set = map[string]string{"login": login, "password": "any-password"}
		}
		if p, err = b.submit(p, fs[0], set); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func TestUpstreamOIDC(t *testing.T) {
	s := newToriiSuite(t)
	cfg, dir := s.newToriiConfig(t, "upstream")
	issuer := cfg.Issuer
	// An app the browser really arrives at (Chromium shows no URL for a
	// redirect that fails to load).
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "app") }))
	t.Cleanup(app.Close)
	cfg.StaticClients = append(cfg.StaticClients, staticClient{ID: "upstream-app", Name: "App", Secret: "upstream-app-secret", RedirectURIs: []string{app.URL + "/cb"}})
	op := s.startUpstreamOP(t, issuer)
	upstream := func(id, name string, extra map[string]any) connectorConfig {
		c := map[string]any{
			"issuer": op.Issuer, "clientID": "torii", "clientSecret": upstreamSecret, "redirectURI": issuer + "/callback",
			"rootCAs": []string{s.ca.CAFile}, "scopes": []string{"profile", "email", "groups", "offline_access"},
		}
		for k, v := range extra {
			c[k] = v
		}
		return connectorConfig{Type: "oidc", ID: id, Name: name, Config: c}
	}
	cfg.Connectors = []connectorConfig{
		upstream("upstream", "Upstream SSO", map[string]any{
			"insecureEnableGroups": true,
			"claimModifications":   map[string]any{"modifyGroupNames": map[string]any{"prefix": "sso:"}},
		}),
		upstream("upstream-userinfo", "Upstream (userinfo)", map[string]any{
			"getUserInfo": true, "overrideClaimMapping": true, "claimMapping": map[string]any{"preferred_username": "email"},
			"insecureEnableGroups": true, "allowedGroups": []string{"admins"},
		}),
		// A provider whose keys torii is told are somewhere else (torii's
		// own): every ID token fails its signature check.
		upstream("upstream-badkeys", "Misconfigured", map[string]any{
			"providerDiscoveryOverrides": map[string]any{"jwksURL": issuer + "/keys"},
		}),
	}
	hasLDAP := testslapd.Available()
	if hasLDAP {
		slapd := testslapd.Start(t)
		cfg.Connectors = append(cfg.Connectors, ldapConnector(slapd.LDAPSAddr, slapd.CAFile))
	}
	if err := s.checkConfig(t, cfg, dir); err != nil {
		t.Fatalf("check-config: %v", err)
	}
	tp := s.startTorii(t, "upstream", cfg, dir)

	authURL := func(connID, scope string) string {
		q := url.Values{"client_id": {rpClientID}, "redirect_uri": {rpRedirectURI}, "response_type": {"code"},
			"scope": {scope}, "state": {"app-state"}}
		if connID != "" {
			q.Set("connector_id", connID)
		}
		return issuer + "/auth?" + q.Encode()
	}
	atApp := func(u *url.URL) bool { return u.Host == "127.0.0.1:9" }
	atCallback := func(u *url.URL) bool { return u.Host == tp.Addr && u.Path == "/dex/callback" }
	token := func(t *testing.T, form url.Values) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, issuer+"/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(rpClientID, rpClientSecret)
		resp, err := s.ca.client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	// loginCode logs jane in through connector connID and returns the
	// authorization code torii sends to the app.
	loginCode := func(t *testing.T, connID, who, scope string) string {
		t.Helper()
		b := newBrowser(s.ca)
		b.stopAt = atApp
		p, err := b.get(authURL(connID, scope))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(p.URL.String(), op.Issuer) {
			t.Fatalf("not sent to the provider: %s", p)
		}
		if p, err = upstreamLogin(b, op, p, who); err != nil {
			t.Fatal(err)
		}
		loc, _ := url.Parse(p.Location)
		if loc == nil || !atApp(loc) || loc.Query().Get("code") == "" || loc.Query().Get("state") != "app-state" {
			t.Fatalf("not back at the app with a code: %s\n--- torii log:\n%s", p, tail(tp.LogFile, 15))
		}
		return loc.Query().Get("code")
	}
	redeem := func(t *testing.T, code string) map[string]any {
		t.Helper()
		st, body := token(t, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpRedirectURI}})
		if st != http.StatusOK {
			t.Fatalf("code refused: %d %v", st, body)
		}
		return body
	}

	t.Run("login, claims, groups, refresh through the provider, refusal", func(t *testing.T) {
		body := redeem(t, loginCode(t, "upstream", "jane", "openid email profile groups offline_access"))
		c := jwtClaims(t, body["id_token"].(string))
		if c["sub"] != dexSub("jane", "upstream") || c["email"] != "jane@upstream.example" || c["email_verified"] != true ||
			c["name"] != "Jane Upstream" || c["preferred_username"] != "jane" {
			t.Errorf("ID token claims %v", c)
		}
		if g := stringList(c["groups"]); !slices.Equal(g, []string{"sso:admins", "sso:developers"}) {
			t.Errorf("groups %q, want the provider's with modifyGroupNames' prefix", g)
		}
		rt, _ := body["refresh_token"].(string)
		if rt == "" {
			t.Fatalf("no refresh token: %v", body)
		}
		// Two refreshes: oidc-provider rotates its refresh tokens and
		// refuses a rotated one, so the second works only if torii kept the
		// provider's new token with its own rotation.
		for i := 0; i < 2; i++ {
			st, rb := token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
			if st != http.StatusOK {
				t.Fatalf("refresh %d: %d %v\n--- torii log:\n%s\n--- provider log:\n%s", i+1, st, rb, tail(tp.LogFile, 10), tail(op.log, 10))
			}
			rc := jwtClaims(t, rb["id_token"].(string))
			if rc["sub"] != c["sub"] || rc["email"] != "jane@upstream.example" {
				t.Errorf("refreshed claims %v", rc)
			}
			rt = rb["refresh_token"].(string)
		}
		logBefore, _ := os.ReadFile(tp.LogFile)
		op.control(t, "disable", "jane")
		st, rb := token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
		op.control(t, "enable", "jane")
		if st != http.StatusBadRequest || rb["error"] != "invalid_grant" {
			t.Errorf("refresh after the provider disabled jane: %d %v, want invalid_grant", st, rb)
		}
		// The refusal ended torii's token family: jane enabled again upstream
		// does not bring the old torii refresh token back.
		if st, rb := token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}); st != http.StatusBadRequest || rb["error"] != "invalid_grant" {
			t.Errorf("refresh of the ended family: %d %v, want invalid_grant", st, rb)
		}
		logAll, _ := os.ReadFile(tp.LogFile)
		if strings.Contains(string(logAll), rt) || strings.Contains(string(logAll[len(logBefore):]), "upstream-client-secret") {
			t.Error("torii's log shows a refresh token or the upstream client secret")
		}
	})

	t.Run("userinfo, claim mapping override, allowedGroups", func(t *testing.T) {
		body := redeem(t, loginCode(t, "upstream-userinfo", "jane", "openid email profile groups"))
		c := jwtClaims(t, body["id_token"].(string))
		if c["sub"] != dexSub("jane", "upstream-userinfo") || c["preferred_username"] != "jane@upstream.example" ||
			!slices.Equal(stringList(c["groups"]), []string{"admins"}) {
			t.Errorf("claims %v: want preferred_username from email and only the allowed group", c)
		}
		// bob is in no allowed group: torii refuses him.
		b := newBrowser(s.ca)
		b.stopAt = atApp
		p, err := b.get(authURL("upstream-userinfo", "openid email"))
		if err == nil {
			p, err = upstreamLogin(b, op, p, "bob")
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "not a member of a group allowed") || p.Location != "" {
			t.Errorf("bob: %s", p)
		}
	})

	t.Run("upstream errors end on an error page", func(t *testing.T) {
		// access_denied: the person aborts at the provider.
		b := newBrowser(s.ca)
		b.stopAt = atApp
		p, err := b.get(authURL("upstream", "openid email"))
		if err != nil {
			t.Fatal(err)
		}
		var abort string
		for _, h := range links(p.Body) {
			if strings.Contains(h, "/abort") {
				abort = h
			}
		}
		u, _ := p.URL.Parse(abort)
		if abort == "" {
			t.Fatalf("no abort link on the provider's page: %s", p)
		}
		if p, err = b.get(u.String()); err != nil {
			t.Fatal(err)
		}
		if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "did not allow the login") || p.Location != "" {
			t.Errorf("access_denied: %s", p)
		}

		// A state torii never issued.
		if p, err = newBrowser(s.ca).get(issuer + "/callback?state=forged&code=x"); err != nil || p.Status != http.StatusBadRequest {
			t.Errorf("forged state: %v %s", err, p)
		}

		// Back at torii's callback: stop there, then tamper with the code,
		// and replay the callback in another browser.
		b = newBrowser(s.ca)
		b.stopAt = func(u *url.URL) bool { return atCallback(u) || atApp(u) }
		if p, err = b.get(authURL("upstream", "openid email")); err == nil {
			p, err = upstreamLogin(b, op, p, "jane")
		}
		if err != nil {
			t.Fatal(err)
		}
		cb, _ := url.Parse(p.Location)
		if cb == nil || !atCallback(cb) {
			t.Fatalf("not sent back to torii's callback: %s", p)
		}
		if p, err = newBrowser(s.ca).get(cb.String()); err != nil || p.Status != http.StatusForbidden || !strings.Contains(p.Body, "another browser") {
			t.Errorf("callback from another browser: %v %s", err, p)
		}
		bad := *cb
		q := bad.Query()
		q.Set("code", q.Get("code")+"x")
		bad.RawQuery = q.Encode()
		if p, err = b.get(bad.String()); err != nil || p.Status != http.StatusForbidden || !strings.Contains(p.Body, "authorization code was not accepted") {
			t.Errorf("tampered code: %v %s", err, p)
		}

		// ID tokens whose signature does not check out.
		b = newBrowser(s.ca)
		b.stopAt = atApp
		if p, err = b.get(authURL("upstream-badkeys", "openid email")); err == nil {
			p, err = upstreamLogin(b, op, p, "jane")
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "could not be verified") || p.Location != "" {
			t.Errorf("bad signature: %s", p)
		}
	})

	t.Run("token exchange", func(t *testing.T) {
		// upstreamTokens logs in at the provider directly as clientID and
		// redeems the code there, as a CI job or kubectl plugin would.
		upstreamTokens := func(t *testing.T, clientID, secret, redirect string) map[string]any {
			t.Helper()
			b := newBrowser(s.ca)
			b.stopAt = func(u *url.URL) bool { return !strings.HasPrefix(u.String(), op.Issuer) }
			q := url.Values{"client_id": {clientID}, "redirect_uri": {redirect}, "response_type": {"code"},
				"scope": {"openid email profile groups"}, "state": {"s"}, "nonce": {"n"}}
			p, err := b.get(op.Issuer + "/auth?" + q.Encode())
			if err == nil {
				p, err = upstreamLogin(b, op, p, "jane")
			}
			if err != nil {
				t.Fatal(err)
			}
			loc, _ := url.Parse(p.Location)
			if loc == nil || loc.Query().Get("code") == "" {
				t.Fatalf("no code from the provider: %s", p)
			}
			form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {redirect}}
			req, _ := http.NewRequest(http.MethodPost, op.Issuer+"/token", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(clientID, secret)
			resp, err := s.ca.client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("provider token: %d %v", resp.StatusCode, body)
			}
			return body
		}
		mine := upstreamTokens(t, "torii", upstreamSecret, issuer+"/callback")
		exchange := func(conn, tok, typ, requested string) (int, map[string]any) {
			f := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "connector_id": {conn},
				"subject_token": {tok}, "subject_token_type": {typ}, "scope": {"openid email groups"}}
			if requested != "" {
				f.Set("requested_token_type", requested)
			}
			return token(t, f)
		}
		const idType, atType = "urn:ietf:params:oauth:token-type:id_token", "urn:ietf:params:oauth:token-type:access_token"
		st, body := exchange("upstream", mine["id_token"].(string), idType, "")
		if st != http.StatusOK || body["issued_token_type"] != atType {
			t.Fatalf("ID token exchange: %d %v\n--- torii log:\n%s", st, body, tail(tp.LogFile, 10))
		}
		c := jwtClaims(t, body["access_token"].(string))
		if c["sub"] != dexSub("jane", "upstream") || c["email"] != "jane@upstream.example" || c["aud"] != rpClientID {
			t.Errorf("exchanged access token claims %v", c)
		}
		st, body = exchange("upstream", mine["id_token"].(string), idType, idType)
		if st != http.StatusOK || body["issued_token_type"] != idType || jwtClaims(t, body["access_token"].(string))["aud"] != rpClientID {
			t.Errorf("exchange for an ID token: %d %v", st, body)
		}
		st, body = exchange("upstream-userinfo", mine["access_token"].(string), atType, "")
		if st != http.StatusOK {
			t.Errorf("access token exchange through userinfo: %d %v", st, body)
		}
		// Refused: an access token where the connector has no userinfo; an
		// ID token issued to another client (Dex would accept it); a bad
		// connector; garbage.
		other := upstreamTokens(t, otherAppID, otherAppSecret, otherAppRedir)
		for name, tc := range map[string]struct{ conn, tok, typ, code string }{
			"access token without getUserInfo": {"upstream", mine["access_token"].(string), atType, "invalid_grant"},
			"ID token of another client":       {"upstream", other["id_token"].(string), idType, "invalid_grant"},
			"unknown connector":                {"nope", mine["id_token"].(string), idType, "invalid_request"},
			"not a token":                      {"upstream", "garbage", idType, "invalid_grant"},
		} {
			if st, body := exchange(tc.conn, tc.tok, tc.typ, ""); st != http.StatusBadRequest || body["error"] != tc.code {
				t.Errorf("%s: %d %v, want %s", name, st, body, tc.code)
			}
		}
	})

	t.Run("chooser and Chromium", func(t *testing.T) {
		b := newBrowser(s.ca)
		p, err := b.get(authURL("", "openid email"))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"/auth/upstream", "/auth/upstream-userinfo"} {
			if !slices.ContainsFunc(links(p.Body), func(h string) bool { return strings.Contains(h, want+"?") }) {
				t.Errorf("chooser has no link to %s: %s", want, p)
			}
		}
		if hasLDAP && !strings.Contains(p.Body, "/auth/ldap?") {
			t.Errorf("chooser has no LDAP link: %s", p)
		}
		q := url.Values{"client_id": {"upstream-app"}, "redirect_uri": {app.URL + "/cb"}, "response_type": {"code"},
			"scope": {"openid email profile groups"}, "state": {"app-state"}}
		s.chromiumUpstream(t, op, issuer+"/auth?"+q.Encode(), app.URL+"/cb")
	})
}

// newToriiSuite is a suite with only torii built (not oauth2-proxy and
// kubelogin).
func newToriiSuite(t *testing.T) *suite {
	t.Helper()
	wd, _ := os.Getwd()
	s := &suite{dir: t.TempDir(), artifacts: filepath.Join(wd, "artifacts"), reasons: map[string]string{}}
	if err := os.MkdirAll(s.artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(wd, "bin", "torii")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/torii")
	cmd.Dir = filepath.Join(wd, "..", "..")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build torii: %v\n%s", err, msg)
	}
	s.bin.torii = out
	s.ca = newTestCA(t, s.dir)
	return s
}
