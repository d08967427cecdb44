// Package fuzz holds the fuzz target of every endpoint's parameter
// handling, in its own package so that its instrumented build pulls in
// only the server and the memory store.
package fuzz_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/torii-idp/torii/connector"
	"github.com/torii-idp/torii/server"
	"github.com/torii-idp/torii/storage/memory"
)

const (
	confidentialID     = "web-app"
	confidentialSecret = "web-app-secret"
	webRedirect        = "https://app.example/callback"
	publicID           = "cli"
)

// users knows jane with one password.
type users struct{}

func (users) Prompt() string { return "Email" }

func (users) Login(_ context.Context, _ connector.Scopes, u, p string) (connector.Identity, bool, error) {
	if u == "jane@example.com" && p == "correct horse" {
		return connector.Identity{UserID: "jane", Email: u}, true, nil
	}
	return connector.Identity{}, false, nil
}

func (users) Refresh(_ context.Context, _ connector.Scopes, id connector.Identity) (connector.Identity, error) {
	return id, nil
}

// FuzzEndpoints sends arbitrary query strings and form bodies to every
// endpoint. Whatever comes in: no panic, no 500, and a redirect goes only
// to torii itself or to the registered redirect URI (never to an address
// taken from the input). `make test` runs it briefly; `make fuzz-long`
// longer.
func FuzzEndpoints(f *testing.F) {
	valid := url.Values{"client_id": {confidentialID}, "redirect_uri": {webRedirect}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s"}}.Encode()
	for _, seed := range []struct {
		endpoint uint8
		query    string
		body     string
	}{
		{0, valid, ""}, {1, "", valid}, {0, valid + "&state=x&state=y", ""}, {0, "redirect_uri=https://evil.example/&client_id=" + confidentialID, ""},
		{2, "req=x", "login=a&password=b"}, {3, "req=x", "approval=approve&csrf=x"},
		{4, "", "grant_type=password&username=jane@example.com&password=x&scope=openid"},
		{4, "", "grant_type=authorization_code&code=x&code=y"}, {4, "", "grant_type=refresh_token&refresh_token=%zz"},
		{5, "access_token=x", ""}, {0, "%", ""}, {4, "", strings.Repeat("a=b&", 100)},
	} {
		f.Add(seed.endpoint, seed.query, seed.body)
	}
	u := users{}
	srv, err := server.New(context.Background(), server.Config{
		Issuer: "https://torii.example/dex", Storage: memory.New(),
		Connectors: []server.Connector{{ID: "local", Password: u, Refresh: u}},
		Clients: []server.Client{
			{ID: confidentialID, Secret: confidentialSecret, RedirectURIs: []string{webRedirect}},
			{ID: publicID, Public: true},
		},
		PasswordConnector: "local",
		Throttle:          server.ThrottleConfig{Disabled: true},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Close() })
	endpoints := []struct{ method, path string }{
		{"GET", "/dex/auth"}, {"POST", "/dex/auth"}, {"POST", "/dex/auth/local"}, {"POST", "/dex/approval"},
		{"POST", "/dex/token"}, {"GET", "/dex/userinfo"}, {"GET", "/dex/auth/local"}, {"GET", "/dex/static/main.css"},
	}
	f.Fuzz(func(t *testing.T, endpoint uint8, query, body string) {
		ep := endpoints[int(endpoint)%len(endpoints)]
		req := httptest.NewRequest(ep.method, "https://torii.example"+ep.path, strings.NewReader(body))
		req.URL.RawQuery = query
		if ep.method == "POST" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if endpoint&0x80 != 0 {
			req.SetBasicAuth(confidentialID, confidentialSecret)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s %s?%q body %q: %d %s", ep.method, ep.path, query, body, rec.Code, rec.Body)
		}
		if loc := rec.Header().Get("Location"); loc != "" && !strings.HasPrefix(loc, "/dex/") {
			// The registered URI, modulo the documented equivalence (host
			// case, see docs/redirect-uris.md): never another place.
			u, err := url.Parse(loc)
			if err != nil || u.Scheme != "https" || !strings.EqualFold(u.Host, "app.example") || !strings.EqualFold(u.Path, "/callback") {
				t.Fatalf("%s %s?%q body %q: redirect to %q", ep.method, ep.path, query, body, loc)
			}
		}
		if len(rec.Header().Get("Location")) > 3*4096+1024 {
			t.Fatalf("a %d-byte Location header", len(rec.Header().Get("Location")))
		}
	})
}
