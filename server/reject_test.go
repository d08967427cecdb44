package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

func TestAuthorizeRejectionsWithoutRedirect(t *testing.T) {
	// Errors about the client or the redirect URI must never redirect.
	e := newEnv(t)
	base := url.Values{"client_id": {confidentialID}, "redirect_uri": {webRedirect}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s"}}
	for _, tc := range []struct {
		name string
		set  map[string]string
	}{
		{"unknown client", map[string]string{"client_id": "nope"}},
		{"missing client", map[string]string{"client_id": ""}},
		{"unregistered redirect", map[string]string{"redirect_uri": "https://evil.example/callback"}},
		{"redirect with extra path", map[string]string{"redirect_uri": webRedirect + "/x"}},
		{"redirect prefix trick", map[string]string{"redirect_uri": "https://app.example/callback.evil.example"}},
		{"redirect with fragment", map[string]string{"redirect_uri": webRedirect + "#frag"}},
		{"missing redirect", map[string]string{"redirect_uri": ""}},
		{"malformed redirect", map[string]string{"redirect_uri": "http://[::1"}},
		{"loopback for confidential client", map[string]string{"redirect_uri": "http://127.0.0.1:8000/callback"}},
		{"public client non-loopback", map[string]string{"client_id": publicID, "redirect_uri": "https://evil.example/cb"}},
		{"public client https loopback lookalike", map[string]string{"client_id": publicID, "redirect_uri": "http://localhost.evil.example:8000/"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{}
			for k, v := range base {
				q[k] = v
			}
			for k, v := range tc.set {
				q.Set(k, v)
			}
			p := e.browser().get("/dex/auth?" + q.Encode())
			if p.status != http.StatusBadRequest || p.location != "" {
				t.Fatalf("got %d location %q, want a 400 page and no redirect", p.status, p.location)
			}
			if !strings.Contains(p.header.Get("Content-Type"), "text/html") {
				t.Errorf("content type %q", p.header.Get("Content-Type"))
			}
		})
	}
}

func TestAuthorizeRejectionsRedirect(t *testing.T) {
	e := newEnv(t)
	base := url.Values{"client_id": {confidentialID}, "redirect_uri": {webRedirect}, "response_type": {"code"}, "scope": {"openid"}, "state": {"xyz"}}
	for _, tc := range []struct {
		name, wantErr string
		set           map[string]string
	}{
		{"token response type", "unsupported_response_type", map[string]string{"response_type": "token"}},
		{"missing response type", "invalid_request", map[string]string{"response_type": ""}},
		{"no openid", "invalid_scope", map[string]string{"scope": "email"}},
		{"unknown scope", "invalid_scope", map[string]string{"scope": "openid admin"}},
		{"untrusted audience", "invalid_scope", map[string]string{"scope": "openid audience:server:client_id:oauth2-proxy"}},
		{"bad pkce method", "invalid_request", map[string]string{"code_challenge": strings.Repeat("a", 43), "code_challenge_method": "S512"}},
		{"short challenge", "invalid_request", map[string]string{"code_challenge": "abc", "code_challenge_method": "S256"}},
		{"public without pkce", "invalid_request", map[string]string{"client_id": publicID, "redirect_uri": "http://127.0.0.1:41234/cb"}},
		{"unknown connector", "invalid_request", map[string]string{"connector_id": "github"}},
		{"request object", "request_not_supported", map[string]string{"request": "eyJ..."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{}
			for k, v := range base {
				q[k] = v
			}
			for k, v := range tc.set {
				q.Set(k, v)
			}
			p := e.browser().get("/dex/auth?" + q.Encode())
			if p.status != http.StatusSeeOther {
				t.Fatalf("status %d, want 303 to the client: %s", p.status, p.body)
			}
			u, _ := url.Parse(p.location)
			if got := u.Query().Get("error"); got != tc.wantErr {
				t.Errorf("error = %q, want %q (%s)", got, tc.wantErr, p.location)
			}
			if u.Query().Get("state") != "xyz" || u.Query().Get("iss") != e.issuer {
				t.Errorf("state/iss missing: %s", p.location)
			}
		})
	}
}

func TestPublicClientLoopbackAnyPort(t *testing.T) {
	e := newEnv(t)
	for _, redirect := range []string{"http://127.0.0.1:8000", "http://localhost:54321/callback", "http://[::1]:18000/"} {
		t.Run(redirect, func(t *testing.T) {
			verifier := oauth2.GenerateVerifier()
			cfg := &oauth2.Config{ClientID: publicID, RedirectURL: redirect, Endpoint: e.provider().Endpoint(), Scopes: []string{"openid", "email", "groups"}}
			cb := e.browser().loginCode(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "jane@example.com", "correct horse")
			tok, err := cfg.Exchange(e.ctx(), cb.Query().Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			if _, err := e.verifier(publicID).Verify(e.ctx(), tok.Extra("id_token").(string)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// code obtains a fresh code for the confidential client.
func (e *env) code(verifier string, scopes ...string) string {
	e.t.Helper()
	opts := []oauth2.AuthCodeOption{}
	if verifier != "" {
		opts = append(opts, oauth2.S256ChallengeOption(verifier))
	}
	cb := e.browser().loginCode(e.oauth2Config(scopes...).AuthCodeURL("s", opts...), "jane@example.com", "correct horse")
	return cb.Query().Get("code")
}

func TestTokenEndpointRejections(t *testing.T) {
	e := newEnv(t)
	verifier := oauth2.GenerateVerifier()
	form := func(code string, extra ...string) url.Values {
		v := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {webRedirect}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v
	}
	for _, tc := range []struct {
		name       string
		form       func() url.Values
		id, secret string
		status     int
		wantErr    string
	}{
		{"wrong secret basic", func() url.Values { return form(e.code(verifier), "code_verifier", verifier) }, confidentialID, "nope", 401, "invalid_client"},
		{"unknown client", func() url.Values { return form("x") }, "ghost", "x", 401, "invalid_client"},
		{"no client auth", func() url.Values { return form("x") }, "", "", 401, "invalid_client"},
		{"wrong redirect_uri", func() url.Values {
			return form(e.code(verifier), "code_verifier", verifier, "redirect_uri", "https://app.example/other")
		}, confidentialID, confidentialSecret, 400, "invalid_grant"},
		{"wrong verifier", func() url.Values { return form(e.code(verifier), "code_verifier", oauth2.GenerateVerifier()) }, confidentialID, confidentialSecret, 400, "invalid_grant"},
		{"missing verifier", func() url.Values { return form(e.code(verifier)) }, confidentialID, confidentialSecret, 400, "invalid_grant"},
		{"verifier without challenge", func() url.Values { return form(e.code(""), "code_verifier", verifier) }, confidentialID, confidentialSecret, 400, "invalid_grant"},
		{"unknown code", func() url.Values { return form("not-a-code") }, confidentialID, confidentialSecret, 400, "invalid_grant"},
		{"other client's code", func() url.Values { return form(e.code(""), "redirect_uri", "/oauth2/callback") }, kubeflowID, "kf-secret", 400, "invalid_grant"},
		{"unsupported grant", func() url.Values { return url.Values{"grant_type": {"client_credentials"}} }, confidentialID, confidentialSecret, 400, "unsupported_grant_type"},
		{"missing grant", func() url.Values { return url.Values{} }, confidentialID, confidentialSecret, 400, "invalid_request"},
		{"password grant public client", func() url.Values {
			return url.Values{"grant_type": {"password"}, "username": {"jane@example.com"}, "password": {"correct horse"}, "client_id": {publicID}, "scope": {"openid"}}
		}, "", "", 400, "unauthorized_client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, body, h := e.tokenRequest(tc.form(), tc.id, tc.secret)
			if st != tc.status || body["error"] != tc.wantErr {
				t.Fatalf("got %d %v, want %d %s", st, body, tc.status, tc.wantErr)
			}
			if h.Get("Cache-Control") != "no-store" || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
				t.Errorf("headers %v", h)
			}
			if tc.wantErr == "invalid_client" && tc.id != "" && h.Get("WWW-Authenticate") == "" {
				t.Error("no WWW-Authenticate for a failed basic authentication")
			}
		})
	}
}

func TestClientSecretPost(t *testing.T) {
	e := newEnv(t)
	code := e.code("")
	st, body, _ := e.tokenRequest(url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {webRedirect}, "client_id": {confidentialID}, "client_secret": {confidentialSecret}}, "", "")
	if st != 200 || body["access_token"] == nil {
		t.Fatalf("client_secret_post: %d %v", st, body)
	}
	if body["token_type"] != "bearer" {
		t.Errorf("token_type %v", body["token_type"])
	}
}

func TestCodeReplayRevokesTokens(t *testing.T) {
	e := newEnv(t)
	code := e.code("", "offline_access", "email")
	f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {webRedirect}}
	st, first, _ := e.tokenRequest(f, confidentialID, confidentialSecret)
	if st != 200 {
		t.Fatalf("first redemption %d %v", st, first)
	}
	if st, _ := e.userinfo(first["access_token"].(string)); st != 200 {
		t.Fatalf("userinfo before replay: %d", st)
	}
	st, second, _ := e.tokenRequest(f, confidentialID, confidentialSecret)
	if st != 400 || second["error"] != "invalid_grant" {
		t.Fatalf("second redemption %d %v", st, second)
	}
	st, body, _ := e.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first["refresh_token"].(string)}}, confidentialID, confidentialSecret)
	if st != 400 || body["error"] != "invalid_grant" {
		t.Errorf("refresh token from the replayed code still works: %d %v", st, body)
	}
	if st, _ := e.userinfo(first["access_token"].(string)); st != 401 {
		t.Errorf("access token from the replayed code still accepted at userinfo: %d", st)
	}
}

func TestUserinfoRejections(t *testing.T) {
	e := newEnv(t)
	st, tok, _ := e.tokenRequest(url.Values{"grant_type": {"password"}, "username": {"jane@example.com"}, "password": {"correct horse"}, "scope": {"openid email"}}, confidentialID, confidentialSecret)
	if st != 200 {
		t.Fatalf("password grant %d %v", st, tok)
	}
	at, idt := tok["access_token"].(string), tok["id_token"].(string)
	parts := strings.Split(at, ".")
	for name, token := range map[string]string{
		"garbage":  "abc",
		"id token": idt,
		"tampered": parts[0] + "." + parts[1] + "x." + parts[2],
		"empty":    "",
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.issuer+"/userinfo", nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		e.clock.Add(25 * 60 * 60 * 1e9)
		if st, _ := e.userinfo(at); st != 401 {
			t.Errorf("expired access token: %d", st)
		}
	})
}
