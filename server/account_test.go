package server_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/torii-idp/torii/connector"
)

var (
	csrfFieldRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	sessionIDRe = regexp.MustCompile(`name="action" value="end_session">\s*<input type="hidden" name="id" value="([^"]+)"`)
	familyIDRe  = regexp.MustCompile(`name="action" value="revoke">\s*<input type="hidden" name="id" value="([^"]+)"`)
)

const bobUserID = "bob-0001"

func addBob(e *env) {
	e.users.set("bob@example.com", fakeUser{password: "bob pass", ident: connector.Identity{
		UserID: bobUserID, Username: "Bob", Email: "bob@example.com", EmailVerified: true, Groups: []string{"devs"}}})
}

// tokensFor is a password grant for login with offline_access: a refresh
// family of the web app.
func (e *env) tokensFor(login, password string) map[string]any {
	e.t.Helper()
	st, body, _ := e.tokenRequest(url.Values{"grant_type": {"password"}, "username": {login},
		"password": {password}, "scope": {"openid email offline_access"}}, confidentialID, confidentialSecret)
	if st != 200 {
		e.t.Fatalf("password grant: %d %v", st, body)
	}
	return body
}

// account GETs the account page, which must be logged in.
func (b *browser) account() page {
	b.e.t.Helper()
	p := b.get("/dex/account")
	if p.status != http.StatusOK {
		b.e.t.Fatalf("account page: %d %q", p.status, p.location)
	}
	return p
}

func match(t *testing.T, re *regexp.Regexp, body string) string {
	t.Helper()
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("%s not in page:\n%s", re, body)
	}
	return unescapeHTML(m[1])
}

func (b *browser) accountPost(csrf, action, id string) page {
	b.e.t.Helper()
	return b.post("/dex/account", url.Values{"csrf": {csrf}, "action": {action}, "id": {id}})
}

func TestAccountPageShowsClaimsSessionsFamilies(t *testing.T) {
	e := newEnv(t, withSessions())
	e.tokensFor("jane@example.com", "correct horse")
	b := e.browser()
	b.get(b.pageLogin("/dex/account"))
	p := b.account()
	for _, want := range []string{janeSub, "jane@example.com", "admins", `"sub": "` + janeSub + `"`,
		`"aud": "torii-account"`, `"email_verified": true`, "Web App", "offline_access", "end_session", "revoke"} {
		if !strings.Contains(unescapeHTML(p.body), want) {
			t.Errorf("account page lacks %q", want)
		}
	}
	if !strings.Contains(p.body, `href="/dex/logout"`) {
		t.Error("no logout button")
	}
	// The home page's log-in button leads here.
	if h := b.get("/dex/"); !strings.Contains(h.body, `href="/dex/account"`) {
		t.Error("home page has no link to /dex/account")
	}
}

func TestAccountRevokeFamily(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []envOption
	}{{"sessions off", nil}, {"sessions on", []envOption{withSessions()}}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts...)
			addBob(e)
			jane := e.tokensFor("jane@example.com", "correct horse")["refresh_token"].(string)
			bob := e.tokensFor("bob@example.com", "bob pass")["refresh_token"].(string)
			bobFams, err := e.store.ListUserRefresh(context.Background(), bobUserID, "local")
			if err != nil || len(bobFams) != 1 {
				t.Fatalf("bob's families: %v %v", bobFams, err)
			}
			b := e.browser()
			b.get(b.pageLogin("/dex/account"))
			p := b.account()
			csrf, fam := match(t, csrfFieldRe, p.body), match(t, familyIDRe, p.body)

			// CSRF: no field, a wrong one, one from another browser.
			other := e.browser()
			other.get(other.pageLogin("/dex/account"))
			otherCSRF := match(t, csrfFieldRe, other.account().body)
			for name, c := range map[string]string{"none": "", "wrong": csrf[:len(csrf)-2] + "xx", "another browser's": otherCSRF} {
				if p := b.accountPost(c, "revoke", fam); p.status != http.StatusForbidden {
					t.Errorf("csrf %s: %d, want 403", name, p.status)
				}
			}
			if st, body := e.refresh(jane); st != 200 {
				t.Fatalf("jane's refresh after refused forms: %d %v", st, body)
			} else {
				jane = body["refresh_token"].(string)
			}
			// Another user's family is not found, and stays.
			if p := b.accountPost(csrf, "revoke", bobFams[0].FamilyID); p.status != http.StatusNotFound {
				t.Errorf("revoking bob's family as jane: %d, want 404", p.status)
			}
			if st, _ := e.refresh(bob); st != 200 {
				t.Errorf("bob's refresh after jane tried to revoke it: %d", st)
			}
			// Her own: revoked, and its refresh token is invalid_grant.
			p = b.accountPost(csrf, "revoke", fam)
			if p.status != http.StatusSeeOther || p.location != "/dex/account?done=token_revoked" {
				t.Fatalf("revoke: %d %q %s", p.status, p.location, p.body)
			}
			if st, body := e.refresh(jane); st != 400 || body["error"] != "invalid_grant" {
				t.Errorf("refresh of a revoked family: %d %v, want invalid_grant", st, body)
			}
			after := b.get(p.location)
			if !strings.Contains(after.body, `role="status"`) || familyIDRe.MatchString(after.body) {
				t.Errorf("after revoking: want the notice and no family left:\n%s", after.body)
			}
		})
	}
}

func TestAccountEndSession(t *testing.T) {
	e := newEnv(t, withSessions())
	addBob(e)
	a, other, bob := e.browser(), e.browser(), e.browser()
	a.get(a.pageLogin("/dex/account"))
	other.get(other.pageLogin("/dex/account"))
	// bob logs in with his own password.
	bp := bob.follow(bob.pageLoginStart("/dex/account").String())
	bp = bob.submitLogin(bp, "bob@example.com", "bob pass")
	bob.get(bob.get(bp.location).location)
	bobSessions, _ := e.store.ListUserSessions(context.Background(), "local", bobUserID)
	if len(bobSessions) != 1 {
		t.Fatalf("bob's sessions: %d", len(bobSessions))
	}

	p := a.account()
	if n := len(sessionIDRe.FindAllStringSubmatch(p.body, -1)); n != 2 {
		t.Fatalf("jane's page lists %d sessions, want 2", n)
	}
	csrf := match(t, csrfFieldRe, p.body)
	if q := a.accountPost(csrf, "end_session", bobSessions[0].ID[:16]); q.status != http.StatusNotFound {
		t.Errorf("ending bob's session as jane: %d, want 404", q.status)
	}
	if _, err := e.store.GetSession(context.Background(), bobSessions[0].ID); err != nil {
		t.Errorf("bob's session after jane tried to end it: %v", err)
	}
	if q := a.accountPost("", "end_session", bobSessions[0].ID[:16]); q.status != http.StatusForbidden {
		t.Errorf("end without csrf: %d, want 403", q.status)
	}
	// The other browser's session (not this one).
	var otherID string
	ss, _ := e.store.ListUserSessions(context.Background(), "local", janeUserID)
	cur := currentSessionID(t, a, e)
	for _, s := range ss {
		if s.ID != cur {
			otherID = s.ID[:16]
		}
	}
	q := a.accountPost(csrf, "end_session", otherID)
	if q.status != http.StatusSeeOther || q.location != "/dex/account?done=session_ended" {
		t.Fatalf("end the other session: %d %q", q.status, q.location)
	}
	other.pageLoginStart("/dex/account") // logged out there
	a.account()                          // still logged in here
	// Its own session: a logout.
	q = a.accountPost(csrf, "end_session", cur[:16])
	if q.status != http.StatusOK || !strings.Contains(q.body, `id="logged-out"`) {
		t.Fatalf("end this browser's session: %d %s", q.status, q.body)
	}
	a.pageLoginStart("/dex/account")
}

// currentSessionID is the session of browser b's cookie.
func currentSessionID(t *testing.T, b *browser, e *env) string {
	t.Helper()
	u, _ := url.Parse(e.issuer + "/")
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "torii_session" {
			return s256(c.Value) // the stored ID is the cookie's SHA-256
		}
	}
	t.Fatal("no session cookie")
	return ""
}
