package server_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/torii-idp/torii/server"
)

func TestLoginBoundToBrowser(t *testing.T) {
	e := newEnv(t)
	alice := e.browser()
	p := alice.follow(e.oauth2Config().AuthCodeURL("s"))
	action, form := parseForm(t, p.body)
	form.Set("login", "jane@example.com")
	form.Set("password", "correct horse")

	t.Run("another browser cannot open the login page", func(t *testing.T) {
		mallory := e.browser()
		mallory.get("/dex/auth?" + url.Values{"client_id": {confidentialID}, "redirect_uri": {webRedirect}, "response_type": {"code"}, "scope": {"openid"}}.Encode())
		if p := mallory.get(action + "?req=" + form.Get("req")); p.status != http.StatusForbidden {
			t.Errorf("GET from another browser: %d", p.status)
		}
		if p := mallory.post(action, form); p.status != http.StatusForbidden || p.location != "" {
			t.Errorf("POST from another browser: %d %q", p.status, p.location)
		}
	})
	t.Run("no cookie", func(t *testing.T) {
		anon := &browser{e: e, c: e.srv.Client()}
		anon.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		if p := anon.post(action, form); p.status != http.StatusForbidden {
			t.Errorf("POST without cookie: %d", p.status)
		}
	})
	t.Run("missing csrf field from a browser", func(t *testing.T) {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Del("csrf")
		for _, h := range [][2]string{{"Origin", e.srv.URL}, {"Sec-Fetch-Site", "same-origin"}, {"Origin", "https://evil.example"}} {
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+action, strings.NewReader(f.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set(h[0], h[1])
			if p := alice.do(req); p.status != http.StatusForbidden {
				t.Errorf("browser POST (%s: %s) without csrf: %d", h[0], h[1], p.status)
			}
		}
	})
	t.Run("wrong csrf field", func(t *testing.T) {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Set("csrf", "forged")
		if p := alice.post(action, f); p.status != http.StatusForbidden {
			t.Errorf("POST with a forged csrf: %d", p.status)
		}
	})
	t.Run("the right browser succeeds once", func(t *testing.T) {
		p := alice.post(action, form)
		if !strings.HasPrefix(p.location, webRedirect) {
			t.Fatalf("%d %q", p.status, p.location)
		}
		if p := alice.post(action, form); p.location != "" || p.status != http.StatusBadRequest {
			t.Errorf("auth request reused: %d %q", p.status, p.location)
		}
	})
}

func TestConnectorChooser(t *testing.T) {
	e := newEnv(t, func(c *server.Config) {
		c.Connectors = append(c.Connectors, server.Connector{ID: "ldap", Type: "ldap", Name: "Corporate LDAP", Password: c.Connectors[0].Password})
	})
	b := e.browser()
	p := b.get(e.oauth2Config().AuthCodeURL("s"))
	if p.status != 200 || !strings.Contains(p.body, "Corporate LDAP") || !strings.Contains(p.body, `href="/dex/auth/ldap?req=`) {
		t.Fatalf("chooser: %d\n%s", p.status, p.body)
	}
	p = b.get(e.oauth2Config().AuthCodeURL("s", oauth2Param("connector_id", "ldap")))
	if !strings.HasPrefix(p.location, "/dex/auth/ldap?req=") {
		t.Errorf("connector_id did not skip the chooser: %q", p.location)
	}
}

func TestAudienceScopeAndTrustedPeers(t *testing.T) {
	e := newEnv(t, func(c *server.Config) {
		for i := range c.Clients {
			if c.Clients[i].ID == kubeflowID {
				c.Clients[i].TrustedPeers = []string{confidentialID}
			}
		}
	})
	body := e.passwordTokens("openid audience:server:client_id:" + kubeflowID)
	idt, err := e.verifier(kubeflowID).Verify(e.ctx(), body["id_token"].(string))
	if err != nil {
		t.Fatalf("peer cannot verify: %v", err)
	}
	var c idClaims
	idt.Claims(&c)
	if !slices.Contains(idt.Audience, confidentialID) || !slices.Contains(idt.Audience, kubeflowID) || c.Azp != confidentialID {
		t.Errorf("aud %v azp %q", idt.Audience, c.Azp)
	}
}

func TestHealth(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/dex/healthz", "/dex/healthz/ready"} {
		if got := e.browser().get(p); got.status != 200 {
			t.Errorf("%s: %d", p, got.status)
		}
	}
}

func TestAlwaysShowLoginScreen(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.AlwaysShowLoginScreen = true })
	p := e.browser().get(e.oauth2Config().AuthCodeURL("s"))
	if p.status != 200 || !strings.Contains(p.body, `href="/dex/auth/local?req=`) {
		t.Fatalf("chooser with one connector: %d %q", p.status, p.location)
	}
}

// Kubeflow users script Dex logins: follow the redirects from /auth with a
// cookie session, then post only login and password to the page's URL.
func TestScriptedLoginLikeKubeflowClients(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	start := func() string { // the login page's URL, reached by following redirects
		p := b.get(e.oauth2Config().AuthCodeURL("s"))
		if !strings.HasPrefix(p.location, "/dex/auth/local?req=") {
			t.Fatalf("no redirect to the login page: %d %q", p.status, p.location)
		}
		return p.location
	}
	dexStyle := func(loginURL string) string {
		return "/dex/auth/local/login?state=" + strings.TrimPrefix(loginURL, "/dex/auth/local?req=")
	}
	for name, target := range map[string]func(string) string{
		"torii's URL": func(u string) string { return u },
		"Dex's URL":   dexStyle,
	} {
		got := b.post(target(start()), url.Values{"login": {"jane@example.com"}, "password": {"correct horse"}})
		if !strings.HasPrefix(got.location, webRedirect) {
			t.Errorf("scripted POST to %s: %d %q", name, got.status, got.location)
		}
	}
}
