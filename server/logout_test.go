package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/oauth2"

	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/internal/testmetrics"
	"github.com/torii-idp/torii/server"
	"github.com/torii-idp/torii/storage"
)

const (
	signedOut      = "https://app.example/signed-out"
	otherSignedOut = "https://other.example/bye"
)

// withLogout registers post-logout redirect URIs (and, when given, a
// back-channel endpoint per client) and makes retries quick.
func withLogout(backchannel map[string]string) envOption {
	return func(c *server.Config) {
		for i := range c.Clients {
			switch c.Clients[i].ID {
			case confidentialID:
				c.Clients[i].PostLogoutRedirectURIs = []string{signedOut}
			case otherAppID:
				c.Clients[i].PostLogoutRedirectURIs = []string{otherSignedOut}
			}
			c.Clients[i].BackchannelLogoutURI = backchannel[c.Clients[i].ID]
			c.Clients[i].BackchannelLogoutSessionRequired = backchannel[c.Clients[i].ID] != ""
		}
		c.Backchannel = server.BackchannelConfig{BaseDelay: 20 * time.Millisecond, MaxDelay: 100 * time.Millisecond, Poll: 20 * time.Millisecond, RetryFor: time.Hour}
	}
}

// login logs b in through cfg and returns the verified ID token and its claims.
func (e *env) login(b *browser, cfg *oauth2.Config) (string, map[string]any) {
	e.t.Helper()
	u := b.loginCode(cfg.AuthCodeURL("st"), "jane@example.com", "correct horse")
	tok, claims := e.idClaims(cfg, u.Query().Get("code"))
	return tok.Extra("id_token").(string), claims
}

// signedIn reports whether b is still signed in: /auth answers silently.
func (b *browser) signedIn(cfg *oauth2.Config) bool {
	b.e.t.Helper()
	p := b.follow(cfg.AuthCodeURL("probe"))
	if isLoginPage(p) {
		return false
	}
	if p.location == "" || b.internal(p.location) {
		b.e.t.Fatalf("neither a login page nor a silent login: %d %q\n%s", p.status, p.location, p.body)
	}
	return true
}

func logoutURL(e *env, v url.Values) string { return e.issuer + "/logout?" + v.Encode() }

func TestLogoutDiscovery(t *testing.T) {
	e := newEnv(t)
	var d map[string]any
	if err := e.provider().Claims(&d); err != nil {
		t.Fatal(err)
	}
	if d["end_session_endpoint"] != e.issuer+"/logout" || d["backchannel_logout_supported"] != true ||
		d["backchannel_logout_session_supported"] != true || d["frontchannel_logout_supported"] != false {
		t.Errorf("discovery lacks the logout metadata: %v", d)
	}
}

func TestLogoutWithHint(t *testing.T) {
	e := newEnv(t, withSessions(), withLogout(nil))
	b := e.browser()
	raw, claims := e.login(b, e.oauth2Config())
	if !b.signedIn(e.oauth2Config()) {
		t.Fatal("not signed in after the login")
	}
	e.clock.Add(48 * time.Hour) // the hint has expired: still a valid hint

	p := b.get(logoutURL(e, url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {signedOut}, "state": {"a b&c"}}))
	if p.status != http.StatusFound {
		t.Fatalf("logout = %d %s; want a redirect", p.status, p.body)
	}
	u, _ := url.Parse(p.location)
	if u.Scheme+"://"+u.Host+u.Path != signedOut || u.Query().Get("state") != "a b&c" {
		t.Errorf("redirected to %q; want %s with state", p.location, signedOut)
	}
	if !slices.ContainsFunc(p.header.Values("Set-Cookie"), func(c string) bool {
		return strings.HasPrefix(c, "torii_session=;") && strings.Contains(c, "Max-Age=0")
	}) {
		t.Errorf("the session cookie was not cleared: %v", p.header.Values("Set-Cookie"))
	}
	if _, err := e.store.GetSession(context.Background(), claims["sid"].(string)); err == nil {
		t.Error("the session row survived the logout")
	}
	e.clock.Add(-48 * time.Hour)
	if b.signedIn(e.oauth2Config()) {
		t.Error("still signed in after logout")
	}
}

func TestLogoutRules(t *testing.T) {
	e := newEnv(t, withSessions(), withLogout(nil))
	b := e.browser()
	raw, _ := e.login(b, e.oauth2Config())
	cases := []struct {
		name   string
		params url.Values
		status int
		want   string
	}{
		{"redirect not registered", url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {"https://app.example/other"}}, 400, "not registered"},
		{"redirect registered for another client", url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {otherSignedOut}}, 400, "not registered"},
		{"redirect differs only in case", url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {strings.ToUpper(signedOut)}}, 400, "not registered"},
		{"redirect without a client", url.Values{"post_logout_redirect_uri": {signedOut}}, 400, "did not say which application"},
		{"unknown client", url.Values{"client_id": {"nope"}, "post_logout_redirect_uri": {signedOut}}, 400, "is not registered"},
		{"hint for another client", url.Values{"id_token_hint": {raw}, "client_id": {otherAppID}}, 400, "not issued to the application"},
		{"parameter twice", url.Values{"state": {"a", "b"}}, 400, "more than once"},
		{"hint too long", url.Values{"id_token_hint": {strings.Repeat("a", 70000)}}, 400, "longer than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := b.get(logoutURL(e, tc.params))
			if p.status != tc.status || !strings.Contains(p.body, tc.want) || p.location != "" {
				t.Errorf("= %d %q; want %d with %q and no redirect\n%s", p.status, p.location, tc.status, tc.want, p.body)
			}
		})
	}
	if !b.signedIn(e.oauth2Config()) {
		t.Error("a refused logout request ended the session")
	}

	t.Run("invalid hint asks for confirmation", func(t *testing.T) {
		for _, hint := range []string{"not-a-jwt", raw[:len(raw)-4] + "AAAA"} {
			p := b.get(logoutURL(e, url.Values{"id_token_hint": {hint}}))
			if p.status != 200 || !strings.Contains(p.body, `id="confirm-logout"`) {
				t.Errorf("invalid hint: %d; want the confirmation page\n%s", p.status, p.body)
			}
		}
	})
	t.Run("POST with the hint in the form", func(t *testing.T) {
		p := b.post(e.issuer+"/logout", url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {signedOut}, "state": {"p"}})
		if p.status != http.StatusSeeOther || p.location != signedOut+"?state=p" {
			t.Fatalf("POST logout = %d %q; want 303 to %s?state=p", p.status, p.location, signedOut)
		}
		if b.signedIn(e.oauth2Config()) {
			t.Error("still signed in")
		}
	})
}

func TestLogoutConfirmation(t *testing.T) {
	e := newEnv(t, withSessions(), withLogout(nil))
	b := e.browser()
	e.login(b, e.oauth2Config())
	p := b.get(logoutURL(e, url.Values{"client_id": {confidentialID}, "post_logout_redirect_uri": {signedOut}, "state": {"keep-me"}, "ui_locales": {"de"}, "logout_hint": {"bob@example.com"}}))
	if p.status != 200 || !strings.Contains(p.body, "jane@example.com") || !strings.Contains(p.body, `id="logout-hint-mismatch"`) {
		t.Fatalf("confirmation page = %d\n%s", p.status, p.body)
	}
	action, form := parseForm(t, p.body)
	if form.Get("state") != "keep-me" || form.Get("post_logout_redirect_uri") != signedOut || form.Get("csrf") == "" {
		t.Fatalf("the form does not keep the redirect and state: %v", form)
	}

	t.Run("forged posts are refused", func(t *testing.T) {
		bad := url.Values{}
		for k, v := range form {
			bad[k] = v
		}
		bad.Set("csrf", "forged")
		if p := b.post(action, bad); p.status != http.StatusForbidden {
			t.Errorf("wrong csrf = %d; want 403", p.status)
		}
		bad.Del("csrf")
		if p := b.post(action, bad); p.status != http.StatusForbidden {
			t.Errorf("no csrf = %d; want 403", p.status)
		}
		// Another browser (the attacker's) cannot reuse the victim's form.
		other := e.browser()
		e.login(other, e.oauth2Config())
		if p := other.post(action, form); p.status != http.StatusForbidden {
			t.Errorf("another browser's post = %d; want 403", p.status)
		}
		if !b.signedIn(e.oauth2Config()) || !other.signedIn(e.oauth2Config()) {
			t.Error("a refused confirmation ended a session")
		}
	})

	p = b.post(action, form)
	if p.status != http.StatusSeeOther || p.location != signedOut+"?state=keep-me" {
		t.Fatalf("confirmed logout = %d %q; want 303 to %s?state=keep-me", p.status, p.location, signedOut)
	}
	if b.signedIn(e.oauth2Config()) {
		t.Error("still signed in after the confirmed logout")
	}

	t.Run("no session: no question", func(t *testing.T) {
		p := e.browser().get(logoutURL(e, url.Values{}))
		if p.status != 200 || !strings.Contains(p.body, `id="logged-out"`) {
			t.Errorf("logout without a session = %d; want the signed-out page\n%s", p.status, p.body)
		}
	})
}

// TestLogoutTwoBrowsers: one person, two browsers, two sessions; signing
// out in one leaves the other.
func TestLogoutTwoBrowsers(t *testing.T) {
	e := newEnv(t, withSessions(), withLogout(nil))
	b1, b2 := e.browser(), e.browser()
	raw1, c1 := e.login(b1, e.oauth2Config())
	_, c2 := e.login(b2, e.oauth2Config())
	if c1["sid"] == c2["sid"] {
		t.Fatal("two browsers share a session")
	}
	p := b1.get(logoutURL(e, url.Values{"id_token_hint": {raw1}}))
	if p.status != 200 || !strings.Contains(p.body, `id="logged-out"`) {
		t.Fatalf("logout = %d\n%s", p.status, p.body)
	}
	if b1.signedIn(e.oauth2Config()) {
		t.Error("browser 1 still signed in")
	}
	if !b2.signedIn(e.oauth2Config()) {
		t.Error("browser 2 was signed out by browser 1's logout")
	}
}

// TestBackendLogout is oauth2-proxy's backend_logout_url: a server-side
// GET with only the hint, no cookie; the browser is then asked to log in.
func TestBackendLogout(t *testing.T) {
	e := newEnv(t, withSessions(), withLogout(nil))
	b := e.browser()
	raw, _ := e.login(b, e.oauth2Config())
	resp, err := e.srv.Client().Get(e.issuer + "/logout?id_token_hint=" + url.QueryEscape(raw))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("backend logout = %d; want 200 (oauth2-proxy logs anything else as an error)", resp.StatusCode)
	}
	if b.signedIn(e.oauth2Config()) {
		t.Error("the browser is still signed in after the backend logout")
	}
}

// TestLogoutRefreshTokens: offline_access refresh tokens outlive the
// session (Back-Channel Logout 1.0 §2.7); others from it are revoked.
func TestLogoutRefreshTokens(t *testing.T) {
	e := newEnv(t, withSessions(), withLogout(nil))
	b := e.browser()
	cfg := e.oauth2Config("offline_access")
	u := b.loginCode(cfg.AuthCodeURL("st"), "jane@example.com", "correct horse")
	tok, claims := e.idClaims(cfg, u.Query().Get("code"))
	sid := claims["sid"].(string)
	ctx := context.Background()
	// torii hands out refresh tokens only with offline_access; one from
	// the session without it (an older release's) must still go.
	online := storage.RefreshToken{ID: "online-token-hash", FamilyID: "online-family", ClientID: confidentialID,
		Scopes: []string{"openid"}, ConnectorID: "local", SessionID: sid, CreatedAt: e.clock.Now(), FamilyCreatedAt: e.clock.Now()}
	if err := e.store.CreateRefresh(ctx, online); err != nil {
		t.Fatal(err)
	}
	if p := b.get(logoutURL(e, url.Values{"id_token_hint": {tok.Extra("id_token").(string)}})); p.status != 200 {
		t.Fatalf("logout = %d", p.status)
	}
	if _, err := e.store.GetRefresh(ctx, "online-token-hash"); err == nil {
		t.Error("the refresh token without offline_access survived the logout")
	}
	if revoked, _ := e.store.GrantRevoked(ctx, "online-family"); !revoked {
		t.Error("its grant is not marked revoked")
	}
	tok.Expiry = time.Now().Add(-time.Minute)
	if _, err := cfg.TokenSource(e.ctx(), tok).Token(); err != nil {
		t.Errorf("the offline_access refresh token no longer works after logout: %v", err)
	}
}

// TestLogoutWithoutSessions: with no sessions block nothing is kept to
// end, but /logout checks the hint and the redirect and sends the browser
// back, as RP-Initiated Logout asks.
func TestLogoutWithoutSessions(t *testing.T) {
	e := newEnv(t, withLogout(nil))
	b := e.browser()
	raw, claims := e.login(b, e.oauth2Config())
	if claims["sid"] != nil {
		t.Fatalf("sid without sessions: %v", claims)
	}
	p := b.get(logoutURL(e, url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {signedOut}, "state": {"x"}}))
	if p.status != http.StatusFound || p.location != signedOut+"?state=x" {
		t.Errorf("logout without sessions = %d %q", p.status, p.location)
	}
	p = b.get(logoutURL(e, url.Values{"client_id": {confidentialID}, "post_logout_redirect_uri": {signedOut}}))
	if p.status != http.StatusFound {
		t.Errorf("logout without hint and without sessions = %d; want a redirect (there is nothing to confirm)", p.status)
	}
	if p := b.get(logoutURL(e, url.Values{"client_id": {confidentialID}, "post_logout_redirect_uri": {"https://evil.example/"}})); p.status != 400 {
		t.Errorf("unregistered redirect without sessions = %d; want 400", p.status)
	}
}

// receiver is a client's back-channel logout endpoint that checks every
// Logout Token as strictly as Back-Channel Logout 1.0 §2.6 asks.
type receiver struct {
	t        *testing.T
	e        *env
	clientID string
	srv      *httptest.Server
	mu       sync.Mutex
	down     int // answer 503 to this many more requests
	attempts int
	got      []map[string]any
	raw      []string
}

func newReceiver(t *testing.T, clientID string) *receiver {
	r := &receiver{t: t, clientID: clientID}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.attempts++
	if r.down > 0 {
		r.down--
		r.mu.Unlock()
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	r.mu.Unlock()
	claims, err := r.validate(req)
	if err != nil {
		r.t.Errorf("receiver %s: %v", r.clientID, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.got = append(r.got, claims)
	r.raw = append(r.raw, req.PostForm.Get("logout_token"))
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (r *receiver) validate(req *http.Request) (map[string]any, error) {
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		return nil, errorf("method %s content type %q", req.Method, req.Header.Get("Content-Type"))
	}
	if err := req.ParseForm(); err != nil || len(req.PostForm) != 1 || len(req.PostForm["logout_token"]) != 1 {
		return nil, errorf("form must be exactly logout_token: %v", req.PostForm)
	}
	raw := req.PostForm.Get("logout_token")
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		return nil, err
	}
	if typ := jws.Signatures[0].Protected.ExtraHeaders["typ"]; typ != "logout+jwt" {
		return nil, errorf("typ = %v; want logout+jwt", typ)
	}
	ctx := oidc.ClientContext(context.Background(), r.e.srv.Client())
	payload, err := oidc.NewRemoteKeySet(ctx, r.e.issuer+"/keys").VerifySignature(ctx, raw)
	if err != nil {
		return nil, errorf("signature: %v", err)
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, err
	}
	now := r.e.clock.Now().Unix()
	iat, _ := c["iat"].(float64)
	exp, _ := c["exp"].(float64)
	events, _ := c["events"].(map[string]any)
	ev, isObj := events["http://schemas.openid.net/event/backchannel-logout"].(map[string]any)
	switch {
	case c["iss"] != r.e.issuer:
		return nil, errorf("iss %v", c["iss"])
	case c["aud"] != r.clientID:
		return nil, errorf("aud %v; want %s", c["aud"], r.clientID)
	case int64(iat) > now+5 || int64(iat) < now-300 || int64(exp) <= now || exp-iat > 600:
		return nil, errorf("iat %v exp %v at %d", iat, exp, now)
	case c["jti"] == nil || c["jti"] == "":
		return nil, errorf("no jti")
	case c["sid"] == nil || c["sid"] == "" || c["sub"] == nil:
		return nil, errorf("sid or sub missing: %v", c)
	case !isObj || len(ev) != 0 || len(events) != 1:
		return nil, errorf("events %v", c["events"])
	case c["nonce"] != nil:
		return nil, errorf("a Logout Token must not carry nonce")
	}
	return c, nil
}

func (r *receiver) received() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// waitFor polls until cond holds; the deadline only bounds a hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func errorf(format string, a ...any) error { return fmt.Errorf(format, a...) }

// TestBackchannelLogout: one session used by two clients; its logout
// reaches both, and each token passes the receiver's strict checks.
func TestBackchannelLogout(t *testing.T) {
	ra, rb := newReceiver(t, confidentialID), newReceiver(t, otherAppID)
	out := &syncBuffer{}
	e := newEnv(t, withSessions(), withLogout(map[string]string{confidentialID: ra.srv.URL + "/bc?x=1", otherAppID: rb.srv.URL}),
		func(c *server.Config) { c.Audit = audit.New(out, nil) })
	ra.e, rb.e = e, e
	b := e.browser()
	raw, claims := e.login(b, e.oauth2Config())
	u := b.silent(e.otherConfig().AuthCodeURL("o"))
	_, otherClaims := e.idClaims(e.otherConfig(), u.Query().Get("code"))
	if otherClaims["sid"] != claims["sid"] {
		t.Fatalf("the second client did not get the same session: %v vs %v", otherClaims["sid"], claims["sid"])
	}
	// A receiver must not take a Logout Token for an ID token, and neither does torii.
	if p := b.get(logoutURL(e, url.Values{"id_token_hint": {raw}})); p.status != 200 {
		t.Fatalf("logout = %d", p.status)
	}
	waitFor(t, "both back-channel deliveries", func() bool { return len(ra.received()) == 1 && len(rb.received()) == 1 })
	for _, got := range [][]map[string]any{ra.received(), rb.received()} {
		if got[0]["sid"] != claims["sid"] || got[0]["sub"] != claims["sub"] {
			t.Errorf("logout token names sid %v sub %v; want the session's %v %v", got[0]["sid"], got[0]["sub"], claims["sid"], claims["sub"])
		}
	}
	if ra.received()[0]["jti"] == rb.received()[0]["jti"] {
		t.Error("two deliveries share a jti")
	}
	time.Sleep(100 * time.Millisecond) // several poll periods: nothing is sent twice
	if len(ra.received()) != 1 || len(rb.received()) != 1 {
		t.Errorf("deliveries repeated: %d, %d", len(ra.received()), len(rb.received()))
	}
	// A Logout Token is no ID token: as id_token_hint it is refused (the
	// browser, signed in again, is asked to confirm instead).
	e.login(b, e.oauth2Config())
	ra.mu.Lock()
	lt := ra.raw[0]
	ra.mu.Unlock()
	if p := b.get(logoutURL(e, url.Values{"id_token_hint": {lt}})); p.status != 200 || !strings.Contains(p.body, `id="confirm-logout"`) {
		t.Errorf("a Logout Token as id_token_hint: %d; want the confirmation page\n%s", p.status, p.body)
	}
	events := map[string][]map[string]any{}
	for _, r := range out.records(t) {
		events[r["event"].(string)] = append(events[r["event"].(string)], r)
	}
	if l := events["logout"]; len(l) != 1 || l[0]["sub"] != claims["sub"] || l[0]["client_id"] != confidentialID {
		t.Errorf("audit logout records: %v", l)
	}
	if d := events["backchannel_logout_delivered"]; len(d) != 2 {
		t.Errorf("audit backchannel_logout_delivered records: %v; want one per client", d)
	}
	for _, r := range out.records(t) {
		for _, v := range r {
			if s, ok := v.(string); ok && strings.Count(s, ".") == 2 && len(s) > 100 {
				t.Errorf("an audit field looks like a token: %v", r)
			}
		}
	}
}

// TestBackchannelRetry: a receiver that is down at logout time gets the
// token later, and a torii restart in between loses nothing.
func TestBackchannelRetry(t *testing.T) {
	ra := newReceiver(t, confidentialID)
	ra.down = 2
	e := newEnv(t, withSessions(), withLogout(map[string]string{confidentialID: ra.srv.URL}))
	ra.e = e
	b := e.browser()
	raw, claims := e.login(b, e.oauth2Config())
	if p := b.get(logoutURL(e, url.Values{"id_token_hint": {raw}})); p.status != 200 {
		t.Fatalf("logout = %d", p.status)
	}
	waitFor(t, "the first attempt", func() bool { ra.mu.Lock(); defer ra.mu.Unlock(); return ra.attempts >= 1 })
	// Restart: the old server stops; a new one on the same storage resumes.
	e.torii.Close()
	cfg := server.Config{Issuer: e.issuer, Storage: e.store, Now: e.clock.Now,
		Backchannel: server.BackchannelConfig{BaseDelay: 20 * time.Millisecond, MaxDelay: 100 * time.Millisecond, Poll: 20 * time.Millisecond}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s2, err := server.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for range 20 { // past each backoff (the clock is injected)
		if len(ra.received()) > 0 {
			break
		}
		e.clock.Add(time.Second)
		time.Sleep(30 * time.Millisecond)
	}
	waitFor(t, "the retried delivery", func() bool { return len(ra.received()) == 1 })
	if ra.received()[0]["sid"] != claims["sid"] {
		t.Errorf("retried token has sid %v; want %v", ra.received()[0]["sid"], claims["sid"])
	}
	ra.mu.Lock()
	defer ra.mu.Unlock()
	if ra.attempts != 3 {
		t.Errorf("receiver saw %d attempts; want 3 (two refused, one accepted)", ra.attempts)
	}
}

// TestBackchannelGivesUp: a client that refuses the token (400) is not
// retried; one down for the whole retry period is given up.
func TestBackchannelGivesUp(t *testing.T) {
	var mu sync.Mutex
	refused, down := 0, 0
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		refused++
		mu.Unlock()
		http.Error(w, "bad token", 400)
	}))
	defer refusing.Close()
	unavailable := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		down++
		mu.Unlock()
		http.Error(w, "down", 503)
	}))
	defer unavailable.Close()
	reg := prometheus.NewRegistry()
	e := newEnv(t, withSessions(), withLogout(map[string]string{confidentialID: refusing.URL, otherAppID: unavailable.URL}),
		func(c *server.Config) { c.Metrics = server.NewMetrics(reg) })
	b := e.browser()
	raw, _ := e.login(b, e.oauth2Config())
	b.silent(e.otherConfig().AuthCodeURL("o"))
	b.get(logoutURL(e, url.Values{"id_token_hint": {raw}}))
	failed := func() float64 {
		return testmetrics.Value(t, reg, "torii_backchannel_logouts_total", map[string]string{"result": "failed"})
	}
	waitFor(t, "the refused delivery to be given up", func() bool { return failed() == 1 })
	waitFor(t, "a first attempt at the unavailable client", func() bool { mu.Lock(); defer mu.Unlock(); return down >= 1 })
	e.clock.Add(2 * time.Hour) // past RetryFor
	waitFor(t, "the unavailable client's delivery to be given up", func() bool { return failed() == 2 })
	mu.Lock()
	defer mu.Unlock()
	if refused != 1 {
		t.Errorf("the refusing client got %d attempts; want 1 (a 400 is final)", refused)
	}
	if d := testmetrics.Value(t, reg, "torii_backchannel_logouts_total", map[string]string{"result": "delivered"}); d > 0 {
		t.Errorf("%v deliveries counted as delivered", d)
	}
	if n := testmetrics.Value(t, reg, "torii_logouts_total", nil); n != 1 {
		t.Errorf("torii_logouts_total = %v; want 1", n)
	}
}

// TestLogoutStoredClient: a client kept in storage (created through the
// admin API or imported from Dex) has its postLogoutRedirectURIs honoured
// like a static client's.
func TestLogoutStoredClient(t *testing.T) {
	e := newEnv(t, withSessions(), withLogout(nil))
	if err := e.store.CreateClient(context.Background(), storage.Client{ID: "stored", Public: true, Name: "Stored",
		RedirectURIs: []string{"http://127.0.0.1/cb"}, PostLogoutRedirectURIs: []string{"https://stored.example/bye"}}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	p := b.get(logoutURL(e, url.Values{"client_id": {"stored"}, "post_logout_redirect_uri": {"https://stored.example/bye"}, "state": {"s"}}))
	if p.status != http.StatusFound || p.location != "https://stored.example/bye?state=s" {
		t.Errorf("stored client's registered URI: %d %q", p.status, p.location)
	}
	p = b.get(logoutURL(e, url.Values{"client_id": {"stored"}, "post_logout_redirect_uri": {signedOut}}))
	if p.status != http.StatusBadRequest {
		t.Errorf("stored client, another client's URI: %d; want 400", p.status)
	}
}

// TestEndSessionSendsBackchannel: a session ended through Server.EndSession
// (the admin API's TerminateSessionsByUser and DeleteAuthSession) is ended as
// a logout is: the browser is signed out and the client gets its Logout Token.
func TestEndSessionSendsBackchannel(t *testing.T) {
	ra := newReceiver(t, confidentialID)
	e := newEnv(t, withSessions(), withLogout(map[string]string{confidentialID: ra.srv.URL}))
	ra.e = e
	b := e.browser()
	_, claims := e.login(b, e.oauth2Config())
	ss, _, err := e.store.ListSessions(t.Context(), "", 10)
	if err != nil || len(ss) != 1 {
		t.Fatalf("sessions after one login: %v %v", ss, err)
	}
	ended, err := e.torii.EndSession(t.Context(), ss[0])
	if err != nil || !ended {
		t.Fatalf("EndSession = %v, %v; want ended", ended, err)
	}
	waitFor(t, "the back-channel delivery", func() bool { return len(ra.received()) == 1 })
	if got := ra.received()[0]; got["sid"] != claims["sid"] || got["sub"] != claims["sub"] {
		t.Errorf("logout token names sid %v sub %v; want %v %v", got["sid"], got["sub"], claims["sid"], claims["sub"])
	}
	if b.signedIn(e.oauth2Config()) {
		t.Error("the browser is still signed in after its session was ended")
	}
	if ended, err := e.torii.EndSession(t.Context(), ss[0]); err != nil || ended {
		t.Errorf("ending it again = %v, %v; want not ended, no error", ended, err)
	}
	if n := len(ra.received()); n != 1 {
		t.Errorf("%d deliveries; want 1", n)
	}
}
