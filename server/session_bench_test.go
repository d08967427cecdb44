package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/torii-idp/torii/server"
	"github.com/torii-idp/torii/storage/sqlite"
)

// BenchmarkBrowserLogin compares a silent login (a live session: /auth
// straight to the client) with a password login (/auth, the form, its
// POST) on SQLite, each up to the code at the client's redirect URI. The
// fake connector checks passwords instantly, so the difference is torii's
// own work, not bcrypt or LDAP.
func BenchmarkBrowserLogin(b *testing.B) {
	st, err := sqlite.Open(context.Background(), b.TempDir()+"/bench.db", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	users := defaultUsers()
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	s, err := server.New(ctx, server.Config{
		Issuer: "http://torii.example/dex", Storage: st,
		Connectors:         []server.Connector{{ID: "local", Password: users, Refresh: users}},
		Clients:            []server.Client{{ID: confidentialID, Secret: confidentialSecret, RedirectURIs: []string{webRedirect}}},
		SkipApprovalScreen: true, Throttle: server.ThrottleConfig{Disabled: true},
		Sessions: &server.SessionsConfig{},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	srv := httptest.NewServer(s)
	b.Cleanup(srv.Close)
	authURL := srv.URL + "/dex/auth?" + url.Values{"client_id": {confidentialID}, "redirect_uri": {webRedirect},
		"response_type": {"code"}, "scope": {"openid email"}, "state": {"s"}}.Encode()
	client := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	get := func(c *http.Client, u string) (string, string) {
		resp, err := c.Get(u)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.Header.Get("Location"), string(body)
	}
	passwordLogin := func(c *http.Client) {
		loc, _ := get(c, authURL)
		_, body := get(c, srv.URL+loc)
		action, form := parseForm(b, body)
		form.Set("login", "jane@example.com")
		form.Set("password", "correct horse")
		resp, err := c.PostForm(srv.URL+action, form)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if !strings.HasPrefix(resp.Header.Get("Location"), webRedirect) {
			b.Fatalf("password login ended at %q", resp.Header.Get("Location"))
		}
	}
	b.Run("password", func(b *testing.B) {
		for b.Loop() {
			passwordLogin(client())
		}
	})
	b.Run("silent", func(b *testing.B) {
		c := client()
		passwordLogin(c)
		for b.Loop() {
			if loc, _ := get(c, authURL); !strings.HasPrefix(loc, webRedirect) {
				b.Fatalf("silent login ended at %q", loc)
			}
		}
	})
}
