package ha_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/torii-idp/torii/server"
)

const signedOutURI = "https://app.example/signed-out"

// TestSessionAcrossReplicas: a login on A is a silent login on B; logout
// on B ends it for A too, and the client's back-channel endpoint gets
// exactly one Logout Token although both replicas run the delivery loop.
func TestSessionAcrossReplicas(t *testing.T) {
	var mu sync.Mutex
	var tokens []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("logout_token") == "" {
			http.Error(w, "no logout_token", 400)
			return
		}
		mu.Lock()
		tokens = append(tokens, r.PostForm.Get("logout_token"))
		mu.Unlock()
	}))
	defer rcv.Close()
	received := func() int { mu.Lock(); defer mu.Unlock(); return len(tokens) }

	clk := newClock()
	d, a, b := twoReplicas(t, clk, func(c *server.Config) {
		c.Sessions = &server.SessionsConfig{}
		c.Clients[0].PostLogoutRedirectURIs = []string{signedOutURI}
		c.Clients[0].BackchannelLogoutURI = rcv.URL
		c.Backchannel = server.BackchannelConfig{Poll: 20 * time.Millisecond, BaseDelay: 20 * time.Millisecond}
	})
	br := newBrowser(t, d.Issuer, a.Srv.URL)
	code := br.LoginCode()
	tok, err := a.Exchange(code)
	if err != nil || tok.Status != http.StatusOK {
		t.Fatalf("exchange on A: %v %v", tok, err)
	}
	verifyIDToken(t, d.Verifier(t), "login on A", tok.IDToken)

	authURL := issuerPath + "/auth?" + url.Values{"client_id": {clientID}, "redirect_uri": {redirectURI},
		"response_type": {"code"}, "scope": {"openid email"}, "state": {"s2"}, "prompt": {"none"}}.Encode()
	br.Bases = []string{b.Srv.URL}
	p := br.Follow(br.Do(http.MethodGet, authURL, nil))
	if !strings.HasPrefix(p.Location, redirectURI) || !strings.Contains(p.Location, "code=") {
		t.Fatalf("silent login on B after login on A: %d %q\n%s", p.Status, p.Location, p.Body)
	}

	p = br.Do(http.MethodGet, issuerPath+"/logout?"+url.Values{"id_token_hint": {tok.IDToken},
		"post_logout_redirect_uri": {signedOutURI}, "state": {"bye"}}.Encode(), nil)
	if p.Status != http.StatusFound || p.Location != signedOutURI+"?state=bye" {
		t.Fatalf("logout on B: %d %q\n%s", p.Status, p.Location, p.Body)
	}
	br.Bases = []string{a.Srv.URL}
	p = br.Follow(br.Do(http.MethodGet, authURL, nil))
	if !strings.HasPrefix(p.Location, redirectURI) || !strings.Contains(p.Location, "error=login_required") {
		t.Errorf("prompt=none on A after logout on B: %d %q; want login_required", p.Status, p.Location)
	}

	for deadline := time.Now().Add(20 * time.Second); received() == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // ten poll periods of both replicas
	if n := received(); n != 1 {
		t.Errorf("the back-channel endpoint got %d Logout Tokens; want exactly 1", n)
	}
}
