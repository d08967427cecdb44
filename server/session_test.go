package server_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/torii-idp/torii/connector"
	"github.com/torii-idp/torii/server"
)

const otherAppID, otherAppSecret, otherAppRedirect = "other-app", "other-secret", "https://other.example/cb"

func withSessions(opts ...func(*server.SessionsConfig)) envOption {
	return func(c *server.Config) {
		s := &server.SessionsConfig{}
		for _, o := range opts {
			o(s)
		}
		c.Sessions = s
		c.Clients = append(c.Clients, server.Client{ID: otherAppID, Secret: otherAppSecret, Name: "Other", RedirectURIs: []string{otherAppRedirect}})
	}
}

func (e *env) otherConfig() *oauth2.Config {
	return &oauth2.Config{ClientID: otherAppID, ClientSecret: otherAppSecret, RedirectURL: otherAppRedirect,
		Endpoint: e.provider().Endpoint(), Scopes: []string{"openid"}}
}

// silent follows /auth expecting a redirect to the client without a page.
func (b *browser) silent(authURL string) *url.URL {
	b.e.t.Helper()
	p := b.follow(authURL)
	if p.location == "" || b.internal(p.location) {
		b.e.t.Fatalf("not a silent login: %d %q\n%s", p.status, p.location, p.body)
	}
	u, _ := url.Parse(p.location)
	return u
}

// idClaims exchanges a code and returns the token response and the ID
// token's claims (verified by go-oidc).
func (e *env) idClaims(cfg *oauth2.Config, code string) (*oauth2.Token, map[string]any) {
	e.t.Helper()
	tok, err := cfg.Exchange(e.ctx(), code)
	if err != nil {
		e.t.Fatalf("exchange: %v", err)
	}
	raw := tok.Extra("id_token").(string)
	id, err := e.verifier(cfg.ClientID).Verify(e.ctx(), raw)
	if err != nil {
		e.t.Fatalf("verify: %v", err)
	}
	var m map[string]any
	id.Claims(&m)
	return tok, m
}

func isLoginPage(p page) bool { return p.status == 200 && strings.Contains(p.body, `name="password"`) }

func TestSessionSilentLogin(t *testing.T) {
	e := newEnv(t, withSessions())
	b := e.browser()
	first := b.loginCode(e.oauth2Config().AuthCodeURL("s1"), "jane@example.com", "correct horse")
	_, c1 := e.idClaims(e.oauth2Config(), first.Query().Get("code"))
	sid, _ := c1["sid"].(string)
	if sid == "" || c1["auth_time"] == nil {
		t.Fatalf("ID token from a session lacks sid or auth_time: %v", c1)
	}
	e.clock.Add(10 * time.Minute)

	t.Run("same client, same browser: no form", func(t *testing.T) {
		u := b.silent(e.oauth2Config().AuthCodeURL("s2"))
		if u.Query().Get("state") != "s2" {
			t.Errorf("state %q", u.Query().Get("state"))
		}
		_, c := e.idClaims(e.oauth2Config(), u.Query().Get("code"))
		if c["sid"] != sid || c["auth_time"] != c1["auth_time"] || c["sub"] != janeSub {
			t.Errorf("silent login claims %v; want sid %s and auth_time %v", c, sid, c1["auth_time"])
		}
	})
	t.Run("another client shares the session", func(t *testing.T) {
		u := b.silent(e.otherConfig().AuthCodeURL("o"))
		_, c := e.idClaims(e.otherConfig(), u.Query().Get("code"))
		if c["sid"] != sid || c["aud"] != otherAppID {
			t.Errorf("claims %v", c)
		}
	})
	t.Run("another browser of the same user logs in on its own", func(t *testing.T) {
		b2 := e.browser()
		if p := b2.follow(e.oauth2Config().AuthCodeURL("x")); !isLoginPage(p) {
			t.Fatalf("second browser got no login page: %d %q", p.status, p.location)
		}
		u := b2.loginCode(e.oauth2Config().AuthCodeURL("x"), "jane@example.com", "correct horse")
		_, c := e.idClaims(e.oauth2Config(), u.Query().Get("code"))
		if c["sid"] == sid || c["sid"] == "" {
			t.Errorf("second browser sid %v; want its own", c["sid"])
		}
		// Both sessions live on.
		b.silent(e.oauth2Config().AuthCodeURL("s"))
		b2.silent(e.oauth2Config().AuthCodeURL("s"))
		n, err := e.store.ListUserSessions(t.Context(), "local", janeUserID)
		if err != nil || len(n) != 2 {
			t.Errorf("ListUserSessions = %d, %v; want 2", len(n), err)
		}
	})
	t.Run("refresh keeps auth_time and sid", func(t *testing.T) {
		cfg := e.oauth2Config("offline_access")
		u := b.silent(cfg.AuthCodeURL("r"))
		tok, c := e.idClaims(cfg, u.Query().Get("code"))
		e.clock.Add(time.Minute)
		st, body := e.refresh(tok.RefreshToken)
		if st != 200 {
			t.Fatalf("refresh %d %v", st, body)
		}
		id, err := e.verifier(confidentialID).Verify(e.ctx(), body["id_token"].(string))
		if err != nil {
			t.Fatal(err)
		}
		var rc map[string]any
		id.Claims(&rc)
		if rc["auth_time"] != c["auth_time"] || rc["sid"] != sid {
			t.Errorf("refreshed ID token auth_time %v sid %v; want %v %v", rc["auth_time"], rc["sid"], c["auth_time"], sid)
		}
	})
	t.Run("idle expiry ends the session", func(t *testing.T) {
		e.clock.Add(61 * time.Minute)
		if p := b.follow(e.oauth2Config().AuthCodeURL("s")); !isLoginPage(p) {
			t.Errorf("idle session reused: %d %q", p.status, p.location)
		}
	})
}

func TestSessionCookie(t *testing.T) {
	e := newEnvTLS(t, true, withSessions())
	for _, tc := range []struct {
		name     string
		remember bool
	}{{"browser-session cookie", false}, {"remember me", true}} {
		t.Run(tc.name, func(t *testing.T) {
			b := e.browser()
			p := b.follow(e.oauth2Config().AuthCodeURL("s"))
			action, form := parseForm(t, p.body)
			form.Set("login", "jane@example.com")
			form.Set("password", "correct horse")
			if tc.remember {
				form.Set("remember_me", "on")
			}
			p = b.post(action, form)
			var set string
			for _, c := range p.header.Values("Set-Cookie") {
				if strings.HasPrefix(c, "torii_session=") {
					set = c
				}
			}
			for _, want := range []string{"Path=/dex", "HttpOnly", "Secure", "SameSite=Lax"} {
				if !strings.Contains(set, want) {
					t.Errorf("cookie %q lacks %s", set, want)
				}
			}
			if got := strings.Contains(set, "Expires="); got != tc.remember {
				t.Errorf("cookie %q: persistent %v, want %v", set, got, tc.remember)
			}
		})
	}
}

func TestPromptRules(t *testing.T) {
	e := newEnv(t, withSessions(func(s *server.SessionsConfig) { s.AbsoluteLifetime, s.ValidIfNotUsedFor = 72*time.Hour, 72*time.Hour }), func(c *server.Config) {
		c.Clients = append(c.Clients, server.Client{ID: "kf", Secret: "s", RedirectURIs: []string{"/oauth2/callback"}, PromptNoneWithoutSession: server.PromptNoneShowLogin})
	})
	auth := func(opts ...oauth2.AuthCodeOption) string { return e.oauth2Config().AuthCodeURL("st", opts...) }
	errorOf := func(p page) string {
		u, _ := url.Parse(p.location)
		return u.Query().Get("error")
	}

	t.Run("prompt=none without a session: login_required", func(t *testing.T) {
		p := e.browser().follow(auth(oauth2Param("prompt", "none")))
		if errorOf(p) != "login_required" || !strings.HasPrefix(p.location, webRedirect) {
			t.Errorf("%d %q", p.status, p.location)
		}
	})
	t.Run("prompt=none without a session, client set to showLogin", func(t *testing.T) {
		q := url.Values{"client_id": {"kf"}, "redirect_uri": {"/oauth2/callback"}, "response_type": {"code"}, "scope": {"openid"}, "prompt": {"none"}}
		if p := e.browser().follow("/dex/auth?" + q.Encode()); !isLoginPage(p) {
			t.Errorf("%d %q", p.status, p.location)
		}
	})
	for _, bad := range []string{"bogus", "none login", "none consent"} {
		t.Run("prompt="+bad, func(t *testing.T) {
			if p := e.browser().follow(auth(oauth2Param("prompt", bad))); errorOf(p) != "invalid_request" {
				t.Errorf("%d %q", p.status, p.location)
			}
		})
	}
	t.Run("max_age not a number", func(t *testing.T) {
		if p := e.browser().follow(auth(oauth2Param("max_age", "soon"))); errorOf(p) != "invalid_request" {
			t.Errorf("%q", p.location)
		}
	})

	b := e.browser()
	first := b.loginCode(auth(), "jane@example.com", "correct horse")
	_, c1 := e.idClaims(e.oauth2Config(), first.Query().Get("code"))
	idToken := func() string {
		u := b.silent(auth())
		tok, _ := e.idClaims(e.oauth2Config(), u.Query().Get("code"))
		return tok.Extra("id_token").(string)
	}()
	e.clock.Add(5 * time.Minute)

	t.Run("prompt=none with a session answers silently", func(t *testing.T) {
		u := b.silent(auth(oauth2Param("prompt", "none")))
		if u.Query().Get("code") == "" {
			t.Errorf("%v", u)
		}
	})
	t.Run("prompt=login authenticates again and moves auth_time", func(t *testing.T) {
		p := b.follow(auth(oauth2Param("prompt", "login")))
		if !isLoginPage(p) {
			t.Fatalf("%d %q", p.status, p.location)
		}
		u := b.loginCode(auth(oauth2Param("prompt", "login")), "jane@example.com", "correct horse")
		_, c := e.idClaims(e.oauth2Config(), u.Query().Get("code"))
		if c["auth_time"].(float64) <= c1["auth_time"].(float64) {
			t.Errorf("auth_time did not move: %v then %v", c1["auth_time"], c["auth_time"])
		}
		if c["sid"] == c1["sid"] {
			t.Error("a new login kept the old session")
		}
	})
	t.Run("max_age older than the login", func(t *testing.T) {
		e.clock.Add(2 * time.Minute)
		if p := b.follow(auth(oauth2Param("max_age", "60"))); !isLoginPage(p) {
			t.Errorf("old session reused: %d %q", p.status, p.location)
		}
		if p := b.follow(auth(oauth2Param("max_age", "60"), oauth2Param("prompt", "none"))); errorOf(p) != "login_required" {
			t.Errorf("prompt=none max_age: %q", p.location)
		}
		u := b.silent(auth(oauth2Param("max_age", "3600")))
		_, c := e.idClaims(e.oauth2Config(), u.Query().Get("code"))
		if c["auth_time"] == nil {
			t.Error("auth_time missing with max_age")
		}
	})
	t.Run("id_token_hint of the session's user", func(t *testing.T) {
		b.silent(auth(oauth2Param("prompt", "none"), oauth2Param("id_token_hint", idToken)))
		e.clock.Add(25 * time.Hour) // the hint expired: still a hint
		b.silent(auth(oauth2Param("id_token_hint", idToken)))
	})
	t.Run("forged id_token_hint", func(t *testing.T) {
		other := forgeSub(t, e, idToken)
		if p := b.follow(auth(oauth2Param("prompt", "none"), oauth2Param("id_token_hint", other))); errorOf(p) != "invalid_request" {
			t.Errorf("tampered hint accepted: %q", p.location)
		}
	})
	t.Run("id_token_hint of another user", func(t *testing.T) {
		e.users.set("kim@example.com", fakeUser{password: "kim pw", ident: connector.Identity{UserID: "kim-id", Username: "Kim", Email: "kim@example.com"}})
		kb := e.browser()
		u := kb.loginCode(auth(), "kim@example.com", "kim pw")
		tok, _ := e.idClaims(e.oauth2Config(), u.Query().Get("code"))
		kimHint := tok.Extra("id_token").(string)
		if p := b.follow(auth(oauth2Param("prompt", "none"), oauth2Param("id_token_hint", kimHint))); errorOf(p) != "login_required" {
			t.Errorf("prompt=none with another user's hint: %q", p.location)
		}
		if p := b.follow(auth(oauth2Param("id_token_hint", kimHint))); !isLoginPage(p) {
			t.Errorf("another user's hint reused jane's session: %d %q", p.status, p.location)
		}
	})
	t.Run("login_hint pre-fills the username", func(t *testing.T) {
		p := e.browser().follow(auth(oauth2Param("login_hint", "kim@example.com")))
		if !strings.Contains(p.body, `value="kim@example.com"`) {
			t.Errorf("login_hint not pre-filled:\n%s", p.body)
		}
	})
}

// forgeSub changes the sub of a signed token without re-signing it.
func forgeSub(t *testing.T, e *env, tok string) string {
	parts := strings.Split(tok, ".")
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var m map[string]any
	json.Unmarshal(b, &m)
	m["sub"] = "someone-else"
	b, _ = json.Marshal(m)
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

func TestSessionSharingAndApproval(t *testing.T) {
	e := newEnv(t, withSessions(), func(c *server.Config) {
		c.SkipApprovalScreen = false
		for i := range c.Clients {
			if c.Clients[i].ID == otherAppID {
				c.Clients[i].SSOSharedWith = []string{"nobody"}
			}
		}
	})
	b := e.browser()
	p := b.follow(e.oauth2Config("email").AuthCodeURL("s"))
	p = b.submitLogin(p, "jane@example.com", "correct horse")
	approve := func(p page) page {
		t.Helper()
		p = b.get(p.location)
		_, form := parseForm(t, p.body)
		form.Set("approval", "approve")
		return b.post("/dex/approval", form)
	}
	if p = approve(p); !strings.HasPrefix(p.location, webRedirect) {
		t.Fatalf("%d %q", p.status, p.location)
	}
	t.Run("approved scopes: no form, no approval", func(t *testing.T) {
		b.silent(e.oauth2Config("email").AuthCodeURL("s"))
	})
	t.Run("new scope: approval again", func(t *testing.T) {
		if p := b.follow(e.oauth2Config("email", "groups").AuthCodeURL("s")); !strings.Contains(p.body, `name="approval"`) {
			t.Errorf("%d %q", p.status, p.location)
		}
	})
	t.Run("prompt=consent: approval again", func(t *testing.T) {
		if p := b.follow(e.oauth2Config("email").AuthCodeURL("s", oauth2Param("prompt", "consent"))); !strings.Contains(p.body, `name="approval"`) {
			t.Errorf("%d %q", p.status, p.location)
		}
	})
	t.Run("prompt=none needing approval: consent_required", func(t *testing.T) {
		p := b.follow(e.oauth2Config("email", "groups").AuthCodeURL("s", oauth2Param("prompt", "none")))
		if u, _ := url.Parse(p.location); u == nil || u.Query().Get("error") != "consent_required" {
			t.Errorf("%q", p.location)
		}
	})
	t.Run("a client not sharing sessions logs in again", func(t *testing.T) {
		if p := b.follow(e.otherConfig().AuthCodeURL("o")); !isLoginPage(p) {
			t.Errorf("%d %q", p.status, p.location)
		}
	})
}

func TestNoSessionsBlockKeepsNoSession(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	u := b.loginCode(e.oauth2Config().AuthCodeURL("s"), "jane@example.com", "correct horse")
	_, c := e.idClaims(e.oauth2Config(), u.Query().Get("code"))
	if c["sid"] != nil {
		t.Errorf("sid without sessions: %v", c["sid"])
	}
	if p := b.follow(e.oauth2Config().AuthCodeURL("s")); !isLoginPage(p) {
		t.Errorf("second login skipped the form without sessions: %d %q", p.status, p.location)
	}
	if p := b.follow(e.oauth2Config().AuthCodeURL("s", oauth2Param("prompt", "bogus"))); !isLoginPage(p) {
		t.Errorf("Dex v2.45.1 ignores unknown prompt values: %d %q", p.status, p.location)
	}
	_ = http.StatusOK
}
