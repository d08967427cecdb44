package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/torii-idp/torii/server"
)

type idClaims struct {
	Email         string   `json:"email"`
	EmailVerified bool     `json:"email_verified"`
	Groups        []string `json:"groups"`
	Name          string   `json:"name"`
	PreferredName string   `json:"preferred_username"`
	Nonce         string   `json:"nonce"`
	AtHash        string   `json:"at_hash"`
	CHash         string   `json:"c_hash"`
	AuthTime      int64    `json:"auth_time"`
	Azp           string   `json:"azp"`
}

func TestCodeFlowEndToEnd(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		name := map[bool]string{false: "http", true: "https"}[useTLS]
		t.Run(name, func(t *testing.T) {
			e := newEnvTLS(t, useTLS)
			cfg := e.oauth2Config("email", "profile", "groups", "offline_access")
			verifier := oauth2.GenerateVerifier()
			state := "st/ate with spaces&=?"
			authURL := cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce("n-0S6_WzA2Mj"))
			cb := e.browser().loginCode(authURL, "Jane@Example.com ", "correct horse")

			if got := cb.Scheme + "://" + cb.Host + cb.Path; got != webRedirect {
				t.Fatalf("redirected to %q, want %q", got, webRedirect)
			}
			q := cb.Query()
			if q.Get("state") != state {
				t.Errorf("state = %q, want %q", q.Get("state"), state)
			}
			if q.Get("iss") != e.issuer {
				t.Errorf("iss = %q, want %q (RFC 9207)", q.Get("iss"), e.issuer)
			}
			tok, err := cfg.Exchange(e.ctx(), q.Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			raw, _ := tok.Extra("id_token").(string)
			idt, err := e.verifier(confidentialID).Verify(e.ctx(), raw)
			if err != nil {
				t.Fatalf("verify id token: %v", err)
			}
			if idt.Subject != janeSub {
				t.Errorf("sub = %q, want Dex's encoding %q", idt.Subject, janeSub)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Errorf("at_hash: %v", err)
			}
			var c idClaims
			if err := idt.Claims(&c); err != nil {
				t.Fatal(err)
			}
			want := idClaims{Email: "jane@example.com", EmailVerified: true, Groups: []string{"admins", "devs"},
				Name: "Jane Doe", PreferredName: "jane", Nonce: "n-0S6_WzA2Mj"}
			if c.Email != want.Email || !c.EmailVerified || !slices.Equal(c.Groups, want.Groups) ||
				c.Name != want.Name || c.PreferredName != want.PreferredName || c.Nonce != want.Nonce {
				t.Errorf("claims = %+v, want %+v", c, want)
			}
			if c.CHash == "" || c.AuthTime == 0 {
				t.Errorf("c_hash %q / auth_time %d missing", c.CHash, c.AuthTime)
			}
			if tok.RefreshToken == "" {
				t.Fatal("no refresh token with offline_access")
			}

			// userinfo with the access token.
			ui, err := e.provider().UserInfo(e.ctx(), oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatalf("userinfo: %v", err)
			}
			if ui.Subject != janeSub || ui.Email != "jane@example.com" || !ui.EmailVerified {
				t.Errorf("userinfo = %+v", ui)
			}

			// refresh through x/oauth2.
			old := *tok
			old.Expiry = e.clock.Now().Add(-1)
			fresh, err := cfg.TokenSource(e.ctx(), &old).Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken {
				t.Errorf("refresh token not rotated")
			}
			e.clock.Add(time.Minute)
			fresh2, err := cfg.TokenSource(e.ctx(), &oauth2.Token{RefreshToken: fresh.RefreshToken, Expiry: e.clock.Now().Add(-1)}).Token()
			if err != nil {
				t.Fatalf("second refresh: %v", err)
			}
			for i, ft := range []*oauth2.Token{fresh, fresh2} {
				ridt, err := e.verifier(confidentialID).Verify(e.ctx(), ft.Extra("id_token").(string))
				if err != nil {
					t.Fatalf("refreshed id token %d: %v", i+1, err)
				}
				var rc idClaims
				if err := ridt.Claims(&rc); err != nil {
					t.Fatal(err)
				}
				// OIDC Core 2: auth_time is when the person authenticated,
				// so a refresh keeps the login's value.
				if rc.AuthTime != c.AuthTime {
					t.Errorf("refreshed id token %d: auth_time %d, want the login's %d", i+1, rc.AuthTime, c.AuthTime)
				}
			}
		})
	}
}

func TestDiscovery(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	p := b.get("/dex/.well-known/openid-configuration")
	if p.status != 200 {
		t.Fatalf("status %d", p.status)
	}
	var d map[string]any
	if err := json.Unmarshal([]byte(p.body), &d); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"issuer":                 e.issuer,
		"authorization_endpoint": e.issuer + "/auth",
		"token_endpoint":         e.issuer + "/token",
		"userinfo_endpoint":      e.issuer + "/userinfo",
		"jwks_uri":               e.issuer + "/keys",
		"authorization_response_iss_parameter_supported": true,
	} {
		if d[k] != want {
			t.Errorf("%s = %v, want %v", k, d[k], want)
		}
	}
	for k, want := range map[string][]string{
		"response_types_supported":              {"code"},
		"subject_types_supported":               {"public"},
		"id_token_signing_alg_values_supported": {"RS256"},
		"scopes_supported":                      {"openid", "email", "profile", "groups", "offline_access"},
		"code_challenge_methods_supported":      {"S256", "plain"},
		"grant_types_supported":                 {"authorization_code", "refresh_token", "password"},
		"token_endpoint_auth_methods_supported": {"client_secret_basic", "client_secret_post"},
		"claims_supported":                      {"sub", "email", "email_verified", "groups", "name", "preferred_username"},
	} {
		got, _ := d[k].([]any)
		for _, w := range want {
			if !slices.Contains(got, any(w)) {
				t.Errorf("%s = %v, missing %q", k, got, w)
			}
		}
	}
	etag := p.header.Get("ETag")
	req, _ := http.NewRequest("GET", e.issuer+"/.well-known/openid-configuration", nil)
	req.Header.Set("If-None-Match", etag)
	if p2 := b.do(req); p2.status != http.StatusNotModified {
		t.Errorf("conditional GET: %d, want 304", p2.status)
	}
}

func TestKeysEndpoint(t *testing.T) {
	e := newEnv(t)
	p := e.browser().get("/dex/keys")
	if p.status != 200 {
		t.Fatalf("status %d", p.status)
	}
	var jwks struct {
		Keys []struct {
			Kid, Kty, Alg, Use string
		}
	}
	json.Unmarshal([]byte(p.body), &jwks)
	if len(jwks.Keys) < 2 {
		t.Fatalf("want active and next key published, got %d", len(jwks.Keys))
	}
	for _, k := range jwks.Keys {
		if k.Kid == "" || k.Kty != "RSA" || k.Alg != "RS256" || k.Use != "sig" {
			t.Errorf("key %+v", k)
		}
	}
	if cc := p.header.Get("Cache-Control"); !strings.Contains(cc, "max-age=") || p.header.Get("ETag") == "" {
		t.Errorf("Cache-Control %q, ETag %q", cc, p.header.Get("ETag"))
	}
	if strings.Contains(p.body, `"d"`) {
		t.Error("JWKS leaks private key material")
	}
}

func TestSecurityHeadersOnPages(t *testing.T) {
	e := newEnv(t)
	cfg := e.oauth2Config()
	p := e.browser().follow(cfg.AuthCodeURL("s"))
	if p.status != 200 {
		t.Fatalf("login page %d", p.status)
	}
	for k, want := range map[string]string{
		"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
	} {
		if got := p.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if !strings.Contains(p.header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("CSP = %q", p.header.Get("Content-Security-Policy"))
	}
	for _, want := range []string{`name="login"`, `name="password"`, `action="/dex/auth/local"`, `name="viewport"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("login page lacks %s", want)
		}
	}
}

func TestWrongPasswordKeepsUsername(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	p := b.follow(e.oauth2Config().AuthCodeURL("s"))
	p = b.submitLogin(p, "jane@example.com", "wrong")
	if p.status != http.StatusUnauthorized {
		t.Fatalf("status %d", p.status)
	}
	if !strings.Contains(p.body, "Invalid username or password") || !strings.Contains(p.body, `value="jane@example.com"`) {
		t.Errorf("page lacks message or username:\n%s", p.body)
	}
	// The same page can be submitted again with the right password.
	p = b.submitLogin(p, "jane@example.com", "correct horse")
	if !strings.HasPrefix(p.location, webRedirect) {
		t.Fatalf("after retry: %d %q", p.status, p.location)
	}
}

func TestPromptNoneShowsLoginPage(t *testing.T) {
	// Kubeflow's oauth2-proxy sends prompt=none and expects the login page,
	// as Dex ignores prompt.
	e := newEnv(t)
	u := e.oauth2Config().AuthCodeURL("s", oauth2.SetAuthURLParam("prompt", "none"))
	p := e.browser().follow(u)
	if p.status != 200 || !strings.Contains(p.body, `name="password"`) {
		t.Fatalf("prompt=none: %d %q", p.status, p.location)
	}
}

func TestKubeflowRelativeRedirect(t *testing.T) {
	e := newEnv(t)
	verifier := oauth2.GenerateVerifier()
	q := url.Values{
		"client_id": {kubeflowID}, "redirect_uri": {"/oauth2/callback"}, "response_type": {"code"},
		"scope": {"profile email groups openid"}, "state": {"abc:/"}, "prompt": {"none"},
		"code_challenge": {s256(verifier)}, "code_challenge_method": {"S256"},
	}
	b := e.browser()
	p := b.follow("/dex/auth?" + q.Encode())
	p = b.submitLogin(p, "jane@example.com", "correct horse")
	if !strings.HasPrefix(p.location, "/oauth2/callback?") {
		t.Fatalf("location %q, want the relative /oauth2/callback", p.location)
	}
	cb, _ := url.Parse(p.location)
	st, body, _ := e.tokenRequest(url.Values{
		"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")},
		"redirect_uri": {"/oauth2/callback"}, "code_verifier": {verifier},
	}, kubeflowID, "kf-secret")
	if st != 200 || body["id_token"] == nil {
		t.Fatalf("token: %d %v", st, body)
	}
}

func TestApprovalScreen(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.SkipApprovalScreen = false })
	for _, tc := range []struct {
		choice    string
		wantError string
	}{{"approve", ""}, {"rejected", "access_denied"}} {
		t.Run(tc.choice, func(t *testing.T) {
			b := e.browser()
			p := b.follow(e.oauth2Config("email").AuthCodeURL("st"))
			p = b.submitLogin(p, "jane@example.com", "correct horse")
			if !strings.HasPrefix(p.location, "/dex/approval?req=") {
				t.Fatalf("after login: %d %q", p.status, p.location)
			}
			p = b.get(p.location)
			if !strings.Contains(p.body, "Web App") || !strings.Contains(p.body, "email address") {
				t.Errorf("approval page lacks client or scopes:\n%s", p.body)
			}
			_, form := parseForm(t, p.body)
			form.Set("approval", tc.choice)
			p = b.post("/dex/approval", form)
			cb, err := url.Parse(p.location)
			if err != nil || !strings.HasPrefix(p.location, webRedirect) {
				t.Fatalf("approval answer %d %q", p.status, p.location)
			}
			if cb.Query().Get("error") != tc.wantError || cb.Query().Get("state") != "st" {
				t.Errorf("callback %q", p.location)
			}
			if tc.wantError == "" && cb.Query().Get("code") == "" {
				t.Error("no code")
			}
		})
	}
}
