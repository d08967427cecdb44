package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/torii-idp/torii/server"
)

func (b *browser) setCookie(name, value string) {
	u, _ := url.Parse(b.e.srv.URL + "/dex/")
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/dex"}})
}

func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.e.srv.URL + "/dex/")
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// Binding-cookie fixation (item 8): a value the browser offers that torii
// did not mint is replaced, and a minted value planted by an attacker (who
// got it from torii themselves) stops being enough once the victim logs
// in: the binding is renewed at login, so the attacker cannot approve the
// victim's login.
func TestBindingCookieFixation(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.SkipApprovalScreen = false })
	authURL := e.oauth2Config().AuthCodeURL("s")

	t.Run("an unminted value is not adopted", func(t *testing.T) {
		victim := e.browser()
		planted := strings.Repeat("A", 43)
		victim.setCookie("torii_csrf", planted)
		victim.follow(authURL)
		if got := victim.cookie("torii_csrf"); got == planted || got == "" {
			t.Fatalf("the planted value was adopted (cookie now %q)", got)
		}
	})

	t.Run("a planted minted value cannot approve the victim's login", func(t *testing.T) {
		mallory := e.browser()
		mallory.follow(authURL) // mallory gets a real cookie from torii
		planted := mallory.cookie("torii_csrf")
		victim := e.browser()
		victim.setCookie("torii_csrf", planted)
		p := victim.follow(authURL)
		p = victim.submitLogin(p, "jane@example.com", right)
		if p.location == "" || !strings.Contains(p.location, "/approval") {
			t.Fatalf("victim's login: %d %q", p.status, p.location)
		}
		approval := victim.get(p.location)
		action, form := parseForm(t, approval.body)
		form.Set("approval", "approve")
		// Mallory still holds the planted value and knows the request.
		if got := mallory.post(action, form); strings.HasPrefix(got.location, webRedirect) {
			t.Fatalf("mallory approved the victim's login and got %q", got.location)
		}
		if got := mallory.get(p.location); got.status == http.StatusOK {
			t.Errorf("mallory can open the victim's approval page")
		}
		if got := victim.post(action, form); !strings.HasPrefix(got.location, webRedirect) {
			t.Errorf("the victim's own approval: %d %q", got.status, got.location)
		}
	})
}

// The __Host- prefix is used on an https issuer at the root of its host
// (a path would need the cookie sent to every path of the host).
func TestBindingCookieHostPrefix(t *testing.T) {
	e := newEnvTLS(t, true, func(c *server.Config) {})
	p := e.browser().get(e.oauth2Config().AuthCodeURL("s"))
	if sc := p.header.Get("Set-Cookie"); !strings.HasPrefix(sc, "torii_csrf=") || !strings.Contains(sc, "Secure") {
		t.Errorf("issuer with a path: Set-Cookie %q", sc)
	}
	root := newEnvTLS(t, true, func(c *server.Config) { c.Issuer = strings.TrimSuffix(c.Issuer, "/dex") })
	req, _ := http.NewRequest(http.MethodGet, strings.TrimSuffix(root.issuer, "/dex")+"/auth?"+url.Values{
		"client_id": {confidentialID}, "redirect_uri": {webRedirect}, "response_type": {"code"}, "scope": {"openid"}}.Encode(), nil)
	resp, err := root.httpClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if sc := resp.Header.Get("Set-Cookie"); !strings.HasPrefix(sc, "__Host-torii_csrf=") || !strings.Contains(sc, "Path=/;") && !strings.HasSuffix(sc, "Path=/") {
		t.Errorf("root https issuer: Set-Cookie %q", sc)
	}
}

// connector_id given at /auth is enforced at login (item 11): the request
// cannot be completed through another connector.
func TestConnectorIDEnforced(t *testing.T) {
	other := defaultUsers()
	e := newEnv(t, func(c *server.Config) {
		c.Connectors = append(c.Connectors, server.Connector{ID: "other", Name: "Other", Password: other, Refresh: other})
	})
	b := e.browser()
	p := b.get(e.oauth2Config().AuthCodeURL("s", oauth2Param("connector_id", "other")))
	if !strings.Contains(p.location, "/dex/auth/other") {
		t.Fatalf("connector_id=other: %d %q", p.status, p.location)
	}
	req := p.location[strings.Index(p.location, "req="):]
	login := b.get("/dex/auth/local?" + req)
	if login.status == http.StatusOK {
		action, form := parseForm(t, login.body)
		form.Set("login", "jane@example.com")
		form.Set("password", right)
		if got := b.post(action, form); strings.HasPrefix(got.location, webRedirect) {
			t.Fatalf("logged in through connector local although connector_id=other was asked: %q", got.location)
		}
	}
}
