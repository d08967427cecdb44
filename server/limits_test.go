package server_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/torii-idp/torii/server"
)

func authQuery(extra url.Values) string {
	q := url.Values{"client_id": {confidentialID}, "redirect_uri": {webRedirect}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s"}}
	for k, v := range extra {
		q[k] = v
	}
	return "/dex/auth?" + q.Encode()
}

// Stored parameters are bounded (item 1): a 1 MiB state is refused with
// invalid_request (and not echoed), 4 KiB is fine.
func TestAuthorizeParameterBounds(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name      string
		extra     url.Values
		wantError string
	}{
		{"state of 1 MiB", url.Values{"state": {strings.Repeat("a", 1<<20-200)}}, "invalid_request"},
		{"state just too long", url.Values{"state": {strings.Repeat("a", 4097)}}, "invalid_request"},
		{"nonce too long", url.Values{"nonce": {strings.Repeat("n", 5000)}}, "invalid_request"},
		{"login_hint too long", url.Values{"login_hint": {strings.Repeat("h", 5000)}}, "invalid_request"},
		{"state at the limit", url.Values{"state": {strings.Repeat("a", 4096)}}, ""},
		{"state twice", url.Values{"state": {"a", "b"}}, "invalid_request"},
		{"scope twice", url.Values{"scope": {"openid", "openid email"}}, "invalid_request"},
		{"response_type twice", url.Values{"response_type": {"code", "code"}}, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := e.browser().get(authQuery(tc.extra))
			if tc.wantError == "" {
				if p.status != http.StatusSeeOther || !strings.Contains(p.location, "/dex/auth/local") {
					t.Fatalf("got %d %q, want the login page", p.status, p.location)
				}
				return
			}
			u, err := url.Parse(p.location)
			if p.status != http.StatusSeeOther || err != nil || !strings.HasPrefix(p.location, webRedirect) {
				t.Fatalf("got %d %q, want an error redirect", p.status, p.location)
			}
			if got := u.Query().Get("error"); got != tc.wantError {
				t.Errorf("error %q, want %q (%s)", got, tc.wantError, u.Query().Get("error_description"))
			}
			if len(p.location) > 1000 {
				t.Errorf("the redirect carries %d bytes", len(p.location))
			}
		})
	}
	// client_id or redirect_uri twice: an error page, never a redirect.
	for _, extra := range []url.Values{{"client_id": {confidentialID, confidentialID}}, {"redirect_uri": {webRedirect, "https://evil.example/"}}} {
		if p := e.browser().get(authQuery(extra)); p.status != http.StatusBadRequest || p.location != "" {
			t.Errorf("%v: %d %q, want a 400 page", extra, p.status, p.location)
		}
	}
}

// RFC 6749 §3.1 at /token: a parameter given twice is invalid_request.
func TestTokenDuplicateParameters(t *testing.T) {
	e := newEnv(t)
	for _, form := range []url.Values{
		{"grant_type": {"password", "password"}, "username": {"jane@example.com"}, "password": {right}},
		{"grant_type": {"password"}, "username": {"jane@example.com", "john@example.com"}, "password": {right}},
		{"grant_type": {"authorization_code"}, "code": {"a", "b"}, "redirect_uri": {webRedirect}},
		{"grant_type": {"password"}, "username": {"jane@example.com"}, "password": {strings.Repeat("p", 5000)}},
	} {
		st, body, _ := e.tokenRequest(form, confidentialID, confidentialSecret)
		if st != http.StatusBadRequest || body["error"] != "invalid_request" {
			t.Errorf("%v: %d %v, want 400 invalid_request", form, st, body)
		}
	}
}

// An auth request nobody follows up lives minutes, not expiry.authRequests;
// once its login page was shown it gets the full lifetime (item 1).
func TestUnstartedAuthRequestsExpireSoon(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	p := b.get(authQuery(nil))
	login := p.location
	e.clock.Add(11 * time.Minute)
	if p := b.get(login); p.status != http.StatusBadRequest || !strings.Contains(p.body, "expired") {
		t.Fatalf("un-started request after 11 minutes: %d", p.status)
	}

	p = b.get(authQuery(nil))
	login = p.location
	e.clock.Add(5 * time.Minute)
	if p := b.get(login); p.status != http.StatusOK {
		t.Fatalf("login page after 5 minutes: %d", p.status)
	}
	e.clock.Add(time.Hour)
	p = b.get(login)
	if p.status != http.StatusOK {
		t.Fatalf("shown login page an hour later: %d", p.status)
	}
	if p := b.submitLogin(p, "jane@example.com", right); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, webRedirect) {
		t.Fatalf("login an hour after the page was shown: %d %q", p.status, p.location)
	}
}

// One client address may hold only so many pending auth requests.
func TestPendingAuthRequestsPerIP(t *testing.T) {
	e := newEnv(t, behindProxy, func(c *server.Config) { c.Throttle.PendingAuthRequestsPerIP = 5 })
	from := func(ip string) int {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+authQuery(nil), nil)
		req.Header.Set("X-Forwarded-For", ip)
		return e.browser().do(req).status
	}
	for i := range 5 {
		if st := from("192.0.2.1"); st != http.StatusSeeOther {
			t.Fatalf("request %d: %d", i, st)
		}
	}
	if st := from("192.0.2.1"); st != http.StatusTooManyRequests {
		t.Errorf("sixth pending request from one address: %d, want 429", st)
	}
	if st := from("192.0.2.2"); st != http.StatusSeeOther {
		t.Errorf("another address: %d", st)
	}
	e.clock.Add(21 * time.Minute) // two un-started lifetimes: the first five are gone
	if st := from("192.0.2.1"); st != http.StatusSeeOther {
		t.Errorf("after the window: %d", st)
	}
}

// Logged inputs are truncated (item 9): a 1 MB unregistered redirect URI
// makes a short log line.
func TestLoggedInputsTruncated(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	e := newEnv(t, func(c *server.Config) {
		c.Logger = slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, nil))
	})
	huge := "https://app.example/" + strings.Repeat("x", 1<<20-100)
	e.browser().get(authQuery(url.Values{"redirect_uri": {huge}}))
	e.browser().get(authQuery(url.Values{"redirect_uri": {huge[:4000]}}))
	e.browser().get("/dex/auth?client_id=" + strings.Repeat("c", 500000))
	mu.Lock()
	defer mu.Unlock()
	for _, line := range strings.Split(buf.String(), "\n") {
		if len(line) > 1000 {
			t.Errorf("a log line of %d bytes: %.200s...", len(line), line)
		}
	}
	if !strings.Contains(buf.String(), "unregistered redirect URI") {
		t.Errorf("nothing logged: %s", buf.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
