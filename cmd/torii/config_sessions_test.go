package main

import (
	"strings"
	"testing"
	"time"
)

func TestSessionsBlock(t *testing.T) {
	base := "issuer: https://id.example\nstorage: {type: memory}\n"
	noEnv := func(string) (string, bool) { return "", false }
	c, err := ParseConfig("c.yaml", []byte(base), noEnv)
	if err != nil || c.Sessions != nil {
		t.Fatalf("no block: %v, %+v", err, c.Sessions)
	}
	c, err = ParseConfig("c.yaml", []byte(base+"sessions: {}\n"), noEnv)
	if err != nil || c.Sessions == nil {
		t.Fatalf("sessions: {}: %v", err)
	}
	c, err = ParseConfig("c.yaml", []byte(base+`sessions:
  cookieName: sso
  absoluteLifetime: 8h
  validIfNotUsedFor: 30m
  rememberMeCheckedByDefault: true
  ssoSharedWithDefault: [a]
oauth2:
  promptNoneWithoutSession: showLogin
staticClients:
- id: a
  secret: s
  redirectURIs: [https://a.example/cb]
  ssoSharedWith: ["*"]
  promptNoneWithoutSession: loginRequired
`), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Sessions
	if s.CookieName != "sso" || s.AbsoluteLifetime != 8*time.Hour || s.ValidIfNotUsedFor != 30*time.Minute || !s.RememberMeCheckedByDefault ||
		len(s.SSOSharedWithDefault) != 1 || c.OAuth2.PromptNoneWithoutSession != "showLogin" ||
		c.Clients[0].SSOSharedWith[0] != "*" || c.Clients[0].PromptNoneWithoutSession != "loginRequired" {
		t.Errorf("decoded %+v %+v %+v", s, c.OAuth2, c.Clients[0])
	}
	for _, bad := range []struct{ yaml, want string }{
		{"sessions: {cookieName: 'a b'}\n", "sessions.cookieName"},
		{"sessions: {bogus: 1}\n", "sessions.bogus"},
		{"oauth2: {promptNoneWithoutSession: maybe}\n", "oauth2.promptNoneWithoutSession"},
	} {
		if _, err := ParseConfig("c.yaml", []byte(base+bad.yaml), noEnv); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: %v; want an error naming %s", bad.yaml, err, bad.want)
		}
	}
}
