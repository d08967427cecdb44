package server_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/torii-idp/torii/server"
)

// plain PKCE is refused for public clients unless the operator lists it in
// oauth2.pkce.codeChallengeMethodsSupported (item 11).
func TestPlainPKCEForPublicClients(t *testing.T) {
	q := func(method string) string {
		v := url.Values{"client_id": {publicID}, "redirect_uri": {"http://127.0.0.1:8000/callback"}, "response_type": {"code"},
			"scope": {"openid"}, "state": {"s"}, "code_challenge": {strings.Repeat("a", 43)}}
		if method == "S256" {
			v.Set("code_challenge", s256(strings.Repeat("v", 43)))
		}
		if method != "" {
			v.Set("code_challenge_method", method)
		}
		return "/dex/auth?" + v.Encode()
	}
	refused := func(p page) bool { return strings.Contains(p.location, "error=invalid_request") }
	e := newEnv(t)
	for _, m := range []string{"plain", ""} { // no method means plain (RFC 7636 §4.3)
		if p := e.browser().get(q(m)); !refused(p) {
			t.Errorf("public client, method %q: %d %q, want invalid_request", m, p.status, p.location)
		}
	}
	if p := e.browser().get(q("S256")); refused(p) || p.status != http.StatusSeeOther {
		t.Errorf("public client, S256: %d %q", p.status, p.location)
	}
	// A confidential client may still use plain by default.
	v := url.Values{"client_id": {confidentialID}, "redirect_uri": {webRedirect}, "response_type": {"code"}, "scope": {"openid"},
		"code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"plain"}}
	if p := e.browser().get("/dex/auth?" + v.Encode()); refused(p) {
		t.Errorf("confidential client, plain: %q", p.location)
	}
	listed := newEnv(t, func(c *server.Config) { c.PKCEMethods = []string{"S256", "plain"} })
	if p := listed.browser().get(q("plain")); refused(p) {
		t.Errorf("plain listed in codeChallengeMethodsSupported, public client: %q", p.location)
	}
	only := newEnv(t, func(c *server.Config) { c.PKCEMethods = []string{"S256"} })
	if p := only.browser().get("/dex/auth?" + v.Encode()); !refused(p) {
		t.Errorf("only S256 listed, confidential client with plain: %d %q", p.status, p.location)
	}
}

// HSTS by default on an https issuer, not on http; web.headers may override.
func TestHSTS(t *testing.T) {
	e := newEnvTLS(t, true, func(c *server.Config) {})
	p := e.browser().get(e.issuer + "/.well-known/openid-configuration")
	if got := p.header.Get("Strict-Transport-Security"); !strings.Contains(got, "max-age=") {
		t.Errorf("https issuer: Strict-Transport-Security = %q", got)
	}
	plain := newEnv(t)
	if got := plain.browser().get("/dex/.well-known/openid-configuration").header.Get("Strict-Transport-Security"); got != "" {
		t.Errorf("http issuer sends HSTS %q", got)
	}
	custom := newEnvTLS(t, true, func(c *server.Config) { c.Headers = map[string]string{"Strict-Transport-Security": "max-age=60"} })
	if got := custom.browser().get(custom.issuer + "/keys").header.Get("Strict-Transport-Security"); got != "max-age=60" {
		t.Errorf("web.headers override: %q", got)
	}
}

// /static/ serves files but lists no directory (item 11).
func TestStaticListsNoDirectory(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/dex/static/", "/dex/static"} {
		p := e.browser().get(path)
		if p.status == http.StatusOK || strings.Contains(p.body, "<a href=") {
			t.Errorf("%s: %d, body %.200q", path, p.status, p.body)
		}
	}
}

// Successful logins and token issuance are logged, without secrets.
func TestAuditLogs(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	e := newEnv(t, func(c *server.Config) { c.Logger = slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, nil)) })
	body := e.passwordTokens("openid offline_access")
	mu.Lock()
	defer mu.Unlock()
	logs := buf.String()
	for _, want := range []string{`msg="login succeeded" connector_id=local`, `msg="tokens issued" grant_type=password client_id=web-app`} {
		if !strings.Contains(logs, want) {
			t.Errorf("no %s in:\n%s", want, logs)
		}
	}
	for _, secret := range []string{body["access_token"].(string), body["id_token"].(string), body["refresh_token"].(string), right, confidentialSecret, "jane@example.com"} {
		if strings.Contains(logs, secret[:min(20, len(secret))]) {
			t.Errorf("a secret or typed name is in the logs: %.20s...", secret)
		}
	}
}
