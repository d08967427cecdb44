package server_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/torii-idp/torii/connector"
	"github.com/torii-idp/torii/server"
	"github.com/torii-idp/torii/storage/memory"
)

// fakeUpstream is a unit-test callback connector: its "provider" accepts
// any callback whose code is "good" and whose nonce matches the login state.
type fakeUpstream struct {
	mu       sync.Mutex
	callback string
	nonce    int
	err      error
}

const upstreamAuthorize = "https://upstream.example/authorize"

func (u *fakeUpstream) LoginURL(ctx context.Context, s connector.Scopes, callbackURL, state string) (string, []byte, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.callback = callbackURL
	u.nonce++
	nonce := fmt.Sprint("n", u.nonce)
	return upstreamAuthorize + "?" + url.Values{"state": {state}, "nonce": {nonce}, "redirect_uri": {callbackURL}}.Encode(), []byte(nonce), nil
}

func (u *fakeUpstream) HandleCallback(ctx context.Context, s connector.Scopes, loginState []byte, q url.Values) (connector.Identity, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.err != nil {
		return connector.Identity{}, u.err
	}
	if q.Get("state") != "" {
		return connector.Identity{}, errors.New("state leaked to the connector")
	}
	if q.Get("code") != "good" || q.Get("nonce") != string(loginState) {
		return connector.Identity{}, &connector.LoginError{Message: "The provider refused the login."}
	}
	return connector.Identity{UserID: "u-1", Username: "Up Stream", Email: "up@example.com", EmailVerified: true, ConnectorData: []byte("refresh-me")}, nil
}

func TestCallbackConnectorLogin(t *testing.T) {
	up := &fakeUpstream{}
	e := newEnv(t, func(c *server.Config) {
		c.Connectors = append(c.Connectors, server.Connector{ID: "upstream", Type: "oidc", Name: "Upstream", Callback: up})
	})
	// back simulates the provider sending the browser back to torii.
	back := func(b *browser, loc, code string) page {
		t.Helper()
		if !strings.HasPrefix(loc, upstreamAuthorize) {
			t.Fatalf("not sent upstream: %q", loc)
		}
		u, _ := url.Parse(loc)
		q := u.Query()
		cb := q.Get("redirect_uri") + "?" + url.Values{"state": {q.Get("state")}, "code": {code}, "nonce": {q.Get("nonce")}}.Encode()
		return b.get(cb)
	}
	start := func(b *browser) string {
		t.Helper()
		p := b.get(e.oauth2Config().AuthCodeURL("st", oauth2Param("connector_id", "upstream")))
		if p.location == "" {
			t.Fatalf("no redirect from /auth: %d %s", p.status, p.body)
		}
		return p.location
	}

	t.Run("login through the provider issues a code", func(t *testing.T) {
		b := e.browser()
		p := back(b, start(b), "good")
		if up.callback != e.issuer+"/callback" {
			t.Errorf("callback URL %q", up.callback)
		}
		if !strings.HasPrefix(p.location, webRedirect+"?") {
			t.Fatalf("callback did not complete: %d %q %s", p.status, p.location, p.body)
		}
		u, _ := url.Parse(p.location)
		if u.Query().Get("state") != "st" {
			t.Errorf("state %q", u.Query().Get("state"))
		}
		tok, err := e.oauth2Config().Exchange(e.ctx(), u.Query().Get("code"))
		if err != nil {
			t.Fatal(err)
		}
		id, err := e.verifier(confidentialID).Verify(e.ctx(), tok.Extra("id_token").(string))
		if err != nil {
			t.Fatal(err)
		}
		var c struct {
			Email string `json:"email"`
		}
		id.Claims(&c)
		if c.Email != "" { // no email scope asked
			t.Errorf("email without the scope: %q", c.Email)
		}
	})
	t.Run("the chooser link starts the upstream login", func(t *testing.T) {
		b := e.browser()
		p := b.get(e.oauth2Config().AuthCodeURL("st"))
		if !strings.Contains(p.body, `href="/dex/auth/upstream?req=`) {
			t.Fatalf("chooser: %s", p.body)
		}
		i := strings.Index(p.body, `/dex/auth/upstream?req=`)
		link := unescapeHTML(p.body[i : i+strings.Index(p.body[i:], `"`)])
		p = b.get(link)
		if !strings.HasPrefix(back(b, p.location, "good").location, webRedirect+"?") {
			t.Error("chooser path did not complete")
		}
	})
	t.Run("refusal is shown, not sent to the client", func(t *testing.T) {
		b := e.browser()
		p := back(b, start(b), "bad")
		if p.status != http.StatusForbidden || p.location != "" || !strings.Contains(p.body, "The provider refused the login.") {
			t.Errorf("%d %q %s", p.status, p.location, p.body)
		}
	})
	t.Run("an unavailable provider says try again", func(t *testing.T) {
		b := e.browser()
		loc := start(b)
		up.mu.Lock()
		up.err = fmt.Errorf("dial: %w", connector.ErrUnavailable)
		up.mu.Unlock()
		defer func() { up.mu.Lock(); up.err = nil; up.mu.Unlock() }()
		if p := back(b, loc, "good"); p.status != http.StatusServiceUnavailable || !strings.Contains(p.body, "Try again in a moment") {
			t.Errorf("%d %s", p.status, p.body)
		}
	})
	t.Run("callback in another browser is refused", func(t *testing.T) {
		loc := start(e.browser())
		if p := back(e.browser(), loc, "good"); p.status != http.StatusForbidden || p.location != "" {
			t.Errorf("%d %q", p.status, p.location)
		}
	})
	t.Run("callback for a password login is refused", func(t *testing.T) {
		b := e.browser()
		p := b.get(e.oauth2Config().AuthCodeURL("st", oauth2Param("connector_id", "local")))
		req := strings.TrimPrefix(p.location, "/dex/auth/local?req=")
		if p := b.get("/dex/callback?state=" + req + "&code=good"); p.status != http.StatusBadRequest || p.location != "" {
			t.Errorf("%d %q", p.status, p.location)
		}
	})
	t.Run("a callback is single use", func(t *testing.T) {
		b := e.browser()
		loc := start(b)
		if p := back(b, loc, "good"); !strings.HasPrefix(p.location, webRedirect) {
			t.Fatalf("%d %q", p.status, p.location)
		}
		if p := back(b, loc, "good"); p.location != "" {
			t.Errorf("replayed callback redirected: %q", p.location)
		}
	})
}

func TestConnectorNeedsExactlyOneLoginKind(t *testing.T) {
	users := defaultUsers()
	for name, cn := range map[string]server.Connector{
		"neither": {ID: "x"},
		"both":    {ID: "x", Password: users, Callback: &fakeUpstream{}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := server.New(context.Background(), server.Config{Issuer: "https://id.example", Storage: memory.New(), Connectors: []server.Connector{cn}})
			if err == nil || !strings.Contains(err.Error(), `connector "x"`) {
				t.Errorf("got %v", err)
			}
		})
	}
	_, err := server.New(context.Background(), server.Config{Issuer: "https://id.example", Storage: memory.New(),
		Connectors: []server.Connector{{ID: "up", Callback: &fakeUpstream{}}}, PasswordConnector: "up"})
	if err == nil || !strings.Contains(err.Error(), "does not check passwords") {
		t.Errorf("password grant through a callback connector: %v", err)
	}
}
