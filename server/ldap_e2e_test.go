package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/torii-idp/torii/connector/ldap"
	"github.com/torii-idp/torii/internal/testslapd"
	"github.com/torii-idp/torii/server"
)

// withLDAP replaces the connectors by the real LDAP connector on a real
// slapd, also used for the password grant.
func withLDAP(t *testing.T, s *testslapd.Server) envOption {
	pool := 2
	conn, err := ldap.Open(context.Background(), ldap.Config{
		Host: s.LDAPAddr, InsecureNoSSL: true, BindDN: testslapd.ReaderDN, BindPW: testslapd.ReaderPassword,
		UserSearch: ldap.UserSearch{
			BaseDN: testslapd.PeopleDN, Filter: "(objectClass=inetOrgPerson)", Username: ldap.Attrs{"uid", "mail"},
			IDAttr: "uid", EmailAttr: "mail", NameAttr: "cn", PreferredUsernameAttr: "uid",
		},
		GroupSearch: ldap.GroupSearch{
			BaseDN: testslapd.GroupsDN, NameAttr: "cn",
			UserMatchers: []ldap.UserMatcher{{UserAttr: "DN", GroupAttr: "member"}, {UserAttr: "uid", GroupAttr: "memberUid"}},
		},
		Timeout: "3s", PoolSize: &pool,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("ldap.Open: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return func(c *server.Config) {
		c.Connectors = []server.Connector{{ID: "ldap", Type: "ldap", Name: "LDAP", Password: conn, Refresh: conn}}
		c.PasswordConnector = "ldap"
	}
}

func ldapPassword(e *env, user, pass, scope string) (int, map[string]any) {
	st, body, _ := e.tokenRequest(url.Values{"grant_type": {"password"}, "username": {user}, "password": {pass}, "scope": {scope}}, confidentialID, confidentialSecret)
	return st, body
}

func TestLDAPThroughTheServer(t *testing.T) {
	if !testslapd.Available() {
		t.Skip("slapd not found: install slapd and ldap-utils (apt-get install slapd ldap-utils)")
	}
	s := testslapd.Start(t)
	e := newEnv(t, withLDAP(t, s))

	t.Run("browser login and claims", func(t *testing.T) {
		cfg := e.oauth2Config("email", "groups", "profile")
		b := e.browser()
		p := b.follow(cfg.AuthCodeURL("s"))
		if !strings.Contains(p.body, `action="/dex/auth/ldap"`) {
			t.Fatalf("login page: %d %s", p.status, p.body)
		}
		cb := b.loginCode(cfg.AuthCodeURL("s"), "juergen", testslapd.Password("juergen"))
		tok, err := cfg.Exchange(e.ctx(), cb.Query().Get("code"))
		if err != nil {
			t.Fatal(err)
		}
		idt, err := e.verifier(confidentialID).Verify(e.ctx(), tok.Extra("id_token").(string))
		if err != nil {
			t.Fatal(err)
		}
		var c idClaims
		idt.Claims(&c)
		if c.Email != "juergen@example.org" || !c.EmailVerified || c.Name != "Jürgen Müller" || !slices.Equal(c.Groups, []string{"unix-users"}) {
			t.Errorf("claims %+v", c)
		}
	})

	t.Run("password grant, refresh sees group changes and deletion", func(t *testing.T) {
		st, body := ldapPassword(e, "john@example.org", testslapd.Password("john"), "openid email groups offline_access")
		if st != 200 {
			t.Fatalf("password grant: %d %v", st, body)
		}
		admin := s.Admin(t)
		mod := goldap.NewModifyRequest(testslapd.GroupDN("developers"), nil)
		mod.Delete("member", []string{"uid=john," + testslapd.PeopleDN})
		if err := admin.Modify(mod); err != nil {
			t.Fatal(err)
		}
		st, body = e.refresh(body["refresh_token"].(string))
		if st != 200 {
			t.Fatalf("refresh: %d %v", st, body)
		}
		idt, _ := e.verifier(confidentialID).Verify(e.ctx(), body["id_token"].(string))
		var c idClaims
		idt.Claims(&c)
		if slices.Contains(c.Groups, "developers") || !slices.Contains(c.Groups, "nest-a") {
			t.Errorf("groups after removal from developers: %v", c.Groups)
		}
		if err := admin.Del(goldap.NewDelRequest("uid=john,"+testslapd.PeopleDN, nil)); err != nil {
			t.Fatal(err)
		}
		if st, body := e.refresh(body["refresh_token"].(string)); st != 400 || body["error"] != "invalid_grant" {
			t.Errorf("refresh of a deleted user: %d %v", st, body)
		}
	})

	t.Run("user without email is a clear error", func(t *testing.T) {
		st, body := ldapPassword(e, "nomail", testslapd.Password("nomail"), "openid email")
		if st == 200 || !strings.Contains(body["error_description"].(string), "mail") {
			t.Errorf("%d %v", st, body)
		}
		b := e.browser()
		p := b.follow(e.oauth2Config("email").AuthCodeURL("s"))
		p = b.submitLogin(p, "nomail", testslapd.Password("nomail"))
		if p.location != "" || !strings.Contains(p.body, "mail") {
			t.Errorf("login page for a user without email: %d %q", p.status, p.location)
		}
	})

	t.Run("injection and empty password", func(t *testing.T) {
		for _, u := range []string{"*", "*)(uid=*", "admin)(|(uid=*", "jane*"} {
			if st, body := ldapPassword(e, u, "x", "openid"); st != 400 || body["error"] != "invalid_grant" {
				t.Errorf("%q: %d %v", u, st, body)
			}
		}
	})

	t.Run("throttled after three failures, same message for unknown users", func(t *testing.T) {
		var msgs []string
		for _, u := range []string{"yamada", "yamada", "yamada", "nobody-here"} {
			_, body := ldapPassword(e, u, "wrong", "openid")
			msgs = append(msgs, body["error_description"].(string))
		}
		if msgs[0] != msgs[3] {
			t.Errorf("unknown user and wrong password differ: %q vs %q", msgs[0], msgs[3])
		}
		if st, body := ldapPassword(e, "yamada", testslapd.Password("yamada"), "openid"); st != 400 || !strings.Contains(body["error_description"].(string), "too many") {
			t.Errorf("right password during the ban: %d %v", st, body)
		}
	})

	t.Run("directory down is 503, then recovers", func(t *testing.T) {
		s.Stop()
		st, body := ldapPassword(e, "jane", testslapd.Password("jane"), "openid")
		if st != http.StatusServiceUnavailable || body["error"] != "temporarily_unavailable" {
			t.Errorf("slapd stopped: %d %v", st, body)
		}
		s.Restart()
		if st, body := ldapPassword(e, "jane", testslapd.Password("jane"), "openid"); st != 200 {
			t.Errorf("after restart: %d %v", st, body)
		}
	})
}

// The review's bypass: with jane throttled, `ｊane` (fullwidth) and
// jane@example.org (her mail, a second username attribute) logged in. The
// counters are keyed on the user ID the directory resolves (item 2).
func TestLDAPThrottleKeyedOnTheUser(t *testing.T) {
	s := testslapd.Start(t)
	e := newEnv(t, withLDAP(t, s))
	for range 3 {
		if st, _ := ldapPassword(e, "jane", "wrong", "openid"); st != 400 {
			t.Fatal("wrong password accepted")
		}
	}
	for _, u := range []string{"jane", "ｊane", "JANE", "jane@example.org"} {
		st, body := ldapPassword(e, u, testslapd.Password("jane"), "openid")
		if desc, _ := body["error_description"].(string); st != 400 || !strings.Contains(desc, "too many") {
			t.Errorf("%q with jane throttled: %d %v; want throttled", u, st, body)
		}
	}
	e.clock.Add(2 * time.Second)
	if st, body := ldapPassword(e, "jane@example.org", testslapd.Password("jane"), "openid"); st != 200 {
		t.Errorf("after the delay: %d %v", st, body)
	}
}
