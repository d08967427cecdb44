package server_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/torii-idp/torii/server"
)

// pageLoginStart GETs a page of torii's own and checks it sends the
// browser to /auth for the built-in client; it returns that /auth URL.
func (b *browser) pageLoginStart(path string) *url.URL {
	b.e.t.Helper()
	p := b.get(path)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/dex/auth?") {
		b.e.t.Fatalf("GET %s: want a redirect to /auth, got %d %q", path, p.status, p.location)
	}
	u, _ := url.Parse(p.location)
	q := u.Query()
	want := map[string]string{
		"client_id": server.BuiltinClientID, "redirect_uri": b.e.issuer + "/account/callback",
		"response_type": "code", "code_challenge_method": "S256",
	}
	for k, v := range want {
		if q.Get(k) != v {
			b.e.t.Errorf("/auth %s = %q, want %q", k, q.Get(k), v)
		}
	}
	if len(q.Get("state")) < 43 || len(q.Get("code_challenge")) != 43 || q.Get("nonce") == "" {
		b.e.t.Errorf("/auth lacks state, nonce or an S256 challenge: %v", q)
	}
	return u
}

// pageLoginCallback logs in from the /auth URL and returns the callback
// URL torii sent the browser to (not yet followed).
func (b *browser) pageLoginCallback(auth *url.URL) string {
	b.e.t.Helper()
	p := b.follow(auth.String())
	if !isLoginPage(p) {
		b.e.t.Fatalf("want the login page, got %d %q", p.status, p.location)
	}
	p = b.submitLogin(p, "jane@example.com", "correct horse")
	for i := 0; i < 5 && p.location != "" && !strings.HasPrefix(p.location, b.e.issuer+"/account/callback"); i++ {
		p = b.get(p.location)
	}
	if !strings.HasPrefix(p.location, b.e.issuer+"/account/callback?") {
		b.e.t.Fatalf("want a redirect to the built-in callback (approval skipped), got %d %q\n%s", p.status, p.location, p.body)
	}
	return p.location
}

// pageLogin logs the browser in to torii's pages from path and returns
// where the callback sent it.
func (b *browser) pageLogin(path string) string {
	b.e.t.Helper()
	cb := b.pageLoginCallback(b.pageLoginStart(path))
	p := b.get(cb)
	if p.status != http.StatusSeeOther {
		b.e.t.Fatalf("callback: %d %s", p.status, p.body)
	}
	return p.location
}

func withApprovalScreen(c *server.Config) { c.SkipApprovalScreen = false }

func TestPageLoginBuiltinClient(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []envOption
	}{
		{"sessions off", []envOption{withApprovalScreen}},
		{"sessions on", []envOption{withApprovalScreen, withSessions()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts...)
			b := e.browser()
			back := b.pageLogin("/dex/account?tab=sessions")
			if back != "/dex/account?tab=sessions" {
				t.Fatalf("returned to %q, want the page asked for", back)
			}
			p := b.get(back)
			if p.status != http.StatusOK {
				t.Fatalf("account page after login: %d %q", p.status, p.location)
			}
			for _, want := range []string{janeSub, "jane@example.com", "admins", "devs", "Jane Doe"} {
				if !strings.Contains(p.body, want) {
					t.Errorf("account page lacks %q", want)
				}
			}
			// Logged in now: no second login.
			if p := b.get("/dex/account"); p.status != http.StatusOK {
				t.Errorf("second visit: %d %q", p.status, p.location)
			}
			// Another browser is not.
			e.browser().pageLoginStart("/dex/account")
		})
	}
}

// The built-in client reuses the torii session: a person logged in for an
// application sees their account page without logging in again.
func TestPageLoginReusesSession(t *testing.T) {
	e := newEnv(t, withSessions())
	b := e.browser()
	b.loginCode(e.oauth2Config().AuthCodeURL("s"), "jane@example.com", "correct horse")
	if p := b.get("/dex/account"); p.status != http.StatusOK || !strings.Contains(p.body, janeSub) {
		t.Fatalf("account page with a session: %d %q", p.status, p.location)
	}
}

func TestPageLoginRefusals(t *testing.T) {
	e := newEnv(t)
	issuerURL, _ := url.Parse(e.issuer + "/")

	t.Run("callback in another browser", func(t *testing.T) {
		cb := e.browser().pageLoginCallback(e.browser().pageLoginStart("/dex/account"))
		other := e.browser()
		if p := other.get(cb); p.status != http.StatusBadRequest {
			t.Errorf("callback without the login cookie: %d %q", p.status, p.location)
		}
	})
	t.Run("wrong state", func(t *testing.T) {
		b := e.browser()
		cb, _ := url.Parse(b.pageLoginCallback(b.pageLoginStart("/dex/account")))
		q := cb.Query()
		q.Set("state", q.Get("state")[:42]+"x")
		cb.RawQuery = q.Encode()
		if p := b.get(cb.String()); p.status != http.StatusBadRequest {
			t.Errorf("callback with another state: %d %q", p.status, p.location)
		}
	})
	t.Run("code used twice", func(t *testing.T) {
		b := e.browser()
		auth := b.pageLoginStart("/dex/account")
		cb := b.pageLoginCallback(auth)
		// Keep the pending cookie for a replay.
		saved := b.c.Jar.Cookies(issuerURL)
		if p := b.get(cb); p.status != http.StatusSeeOther {
			t.Fatalf("callback: %d", p.status)
		}
		replay := e.browser()
		replay.c.Jar.SetCookies(issuerURL, saved)
		if p := replay.get(cb); p.status != http.StatusBadRequest {
			t.Errorf("replayed code: %d %q", p.status, p.location)
		}
	})
	// A return path planted in the pending cookie (or any path that is not
	// a page under this issuer) never leaves torii.
	for _, evil := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example", "/dex/../admin",
		"/other", "/dex", "/dex//evil.example", "javascript:alert(1)", "/dex/account\r\nSet-Cookie: x=y"} {
		t.Run("return "+evil, func(t *testing.T) {
			b := e.browser()
			cb := b.pageLoginCallback(b.pageLoginStart("/dex/account"))
			var planted bool
			var cs []*http.Cookie
			for _, c := range b.c.Jar.Cookies(issuerURL) {
				if strings.HasPrefix(c.Name, "torii_account_login_") {
					raw, _ := base64.RawURLEncoding.DecodeString(c.Value)
					var m map[string]string
					json.Unmarshal(raw, &m)
					m["r"] = evil
					raw, _ = json.Marshal(m)
					c.Value, c.Path = base64.RawURLEncoding.EncodeToString(raw), "/dex"
					planted = true
					cs = append(cs, c)
				}
			}
			if !planted {
				t.Fatal("no pending login cookie")
			}
			b.c.Jar.SetCookies(issuerURL, cs)
			p := b.get(cb)
			if p.status != http.StatusSeeOther || p.location != "/dex/account" {
				t.Errorf("callback with return %q: %d %q, want /dex/account", evil, p.status, p.location)
			}
		})
	}
}

// Without sessions the login is a signed cookie: a changed one, or an ID
// token of another client put in its place, is no login.
func TestPageLoginCookie(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.get(b.pageLogin("/dex/account"))
	issuerURL, _ := url.Parse(e.issuer + "/")
	var ck *http.Cookie
	for _, c := range b.c.Jar.Cookies(issuerURL) {
		if c.Name == "torii_account" {
			ck = c
		}
	}
	if ck == nil {
		t.Fatal("no torii_account cookie after the login")
	}
	parts := strings.Split(ck.Value, ".")
	if len(parts) != 3 {
		t.Fatalf("cookie is not a JWS: %q", ck.Value)
	}
	code := b.loginCode(e.oauth2Config("email", "groups").AuthCodeURL("s"), "jane@example.com", "correct horse").Query().Get("code")
	tok, _ := e.idClaims(e.oauth2Config("email", "groups"), code)
	for name, v := range map[string]string{
		"tampered":               parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])),
		"another client's token": tok.Extra("id_token").(string),
		"access token":           tok.AccessToken,
	} {
		t.Run(name, func(t *testing.T) {
			o := e.browser()
			o.c.Jar.SetCookies(issuerURL, []*http.Cookie{{Name: "torii_account", Value: v, Path: "/dex"}})
			o.pageLoginStart("/dex/account")
		})
	}
	t.Run("logout", func(t *testing.T) {
		o := e.browser()
		o.get(o.pageLogin("/dex/account"))
		if p := o.get("/dex/logout"); p.status != http.StatusOK {
			t.Fatalf("logout: %d", p.status)
		}
		o.pageLoginStart("/dex/account")
	})
	t.Run("expired", func(t *testing.T) {
		e.clock.Add(61 * 60e9)
		b.pageLoginStart("/dex/account")
	})
}

func TestBuiltinClientIDReserved(t *testing.T) {
	cfg := server.Config{Issuer: "http://127.0.0.1/dex", Storage: newEnv(t).store,
		Clients: []server.Client{{ID: server.BuiltinClientID, Public: true}}}
	_, err := server.New(t.Context(), cfg)
	if err == nil || !strings.Contains(err.Error(), "reserved") {
		t.Fatalf("a configured client %q: err = %v, want it refused as reserved", server.BuiltinClientID, err)
	}
}
