package server_test

import (
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/torii-idp/torii/server"
)

func (e *env) passwordTokens(scope string) map[string]any {
	e.t.Helper()
	st, body, _ := e.tokenRequest(url.Values{"grant_type": {"password"}, "username": {"jane@example.com"},
		"password": {"correct horse"}, "scope": {scope}}, confidentialID, confidentialSecret)
	if st != 200 {
		e.t.Fatalf("password grant: %d %v", st, body)
	}
	return body
}

func (e *env) refresh(tok string) (int, map[string]any) {
	e.t.Helper()
	st, body, _ := e.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok}}, confidentialID, confidentialSecret)
	return st, body
}

func TestRefreshRotationAndReplay(t *testing.T) {
	e := newEnv(t)
	first := e.passwordTokens("openid email offline_access")["refresh_token"].(string)
	st, r1 := e.refresh(first)
	if st != 200 {
		t.Fatalf("refresh: %d %v", st, r1)
	}
	second := r1["refresh_token"].(string)

	// Within the reuse interval (3s) the old token still works; its
	// successor, unused yet, is sent again (no second branch, as Dex).
	e.clock.Add(2 * time.Second)
	if st, body := e.refresh(first); st != 200 || body["refresh_token"] != second {
		t.Fatalf("reuse within grace: %d %v; want 200 with the same successor", st, body)
	}
	// Outside it, the replay revokes the family, including the new token,
	// though that was never used.
	e.clock.Add(5 * time.Second)
	if st, body := e.refresh(first); st != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("replay outside grace: %d %v", st, body)
	}
	if st, body := e.refresh(second); st != 400 {
		t.Fatalf("family not revoked: %d %v", st, body)
	}
}

// The window in which the old token gets its unused successor again is
// the configured reuse interval, not more: just past it, the successor
// still unused, the old token is a replay.
func TestRefreshReplayWindowIsTheReuseInterval(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.Expiry.RefreshTokens.ReuseInterval = time.Minute })
	first := e.passwordTokens("openid email offline_access")["refresh_token"].(string)
	st, r1 := e.refresh(first)
	if st != 200 {
		t.Fatalf("refresh: %d %v", st, r1)
	}
	second := r1["refresh_token"].(string)
	e.clock.Add(time.Minute)
	if st, body := e.refresh(first); st != 200 || body["refresh_token"] != second {
		t.Fatalf("old token at the end of the reuse interval: %d %v; want 200 with the same successor", st, body)
	}
	e.clock.Add(time.Second)
	if st, body := e.refresh(first); st != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("old token just past the reuse interval, successor unused: %d %v; want invalid_grant", st, body)
	}
	if st, body := e.refresh(second); st != 400 {
		t.Fatalf("family not revoked: %d %v", st, body)
	}
}

func TestIndependentRefreshSessions(t *testing.T) {
	// Two laptops: logging in again must not invalidate the other token
	// (dexidp/dex#981).
	e := newEnv(t)
	a := e.passwordTokens("openid offline_access")["refresh_token"].(string)
	b := e.passwordTokens("openid offline_access")["refresh_token"].(string)
	for i, tok := range []string{a, b, a} {
		st, body := e.refresh(tok)
		if st != 200 {
			t.Fatalf("refresh %d: %d %v", i, st, body)
		}
		if i < 2 {
			if i == 0 {
				a = body["refresh_token"].(string)
			} else {
				b = body["refresh_token"].(string)
			}
		}
	}
}

func TestConcurrentRefreshFromEightSessions(t *testing.T) {
	e := newEnv(t)
	var toks []string
	for i := 0; i < 8; i++ {
		toks = append(toks, e.passwordTokens("openid groups offline_access")["refresh_token"].(string))
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8*5)
	for _, tok := range toks {
		wg.Add(1)
		go func(tok string) {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				st, body := e.refresh(tok)
				if st != 200 {
					errs <- body["error"].(string)
					return
				}
				tok = body["refresh_token"].(string)
			}
		}(tok)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent refresh failed: %s", err)
	}
}

func TestRefreshPicksUpChangesAndDeletion(t *testing.T) {
	e := newEnv(t)
	tok := e.passwordTokens("openid groups offline_access")["refresh_token"].(string)
	u := e.users.users["jane@example.com"]
	u.ident.Groups = []string{"auditors"}
	e.users.set("jane@example.com", u)
	st, body := e.refresh(tok)
	if st != 200 {
		t.Fatalf("refresh %d %v", st, body)
	}
	idt, err := e.verifier(confidentialID).Verify(e.ctx(), body["id_token"].(string))
	if err != nil {
		t.Fatal(err)
	}
	var c idClaims
	idt.Claims(&c)
	if len(c.Groups) != 1 || c.Groups[0] != "auditors" {
		t.Errorf("groups after refresh %v", c.Groups)
	}
	e.users.remove("jane@example.com")
	if st, body := e.refresh(body["refresh_token"].(string)); st != 400 || body["error"] != "invalid_grant" {
		t.Errorf("refresh of a deleted user: %d %v", st, body)
	}
	// The refusal ended the family: the token stays refused when the
	// user comes back, and so does the access token of the family.
	e.users.set("jane@example.com", defaultUsers().users["jane@example.com"])
	if st, again := e.refresh(body["refresh_token"].(string)); st != 400 || again["error"] != "invalid_grant" {
		t.Errorf("refresh after the family ended: %d %v", st, again)
	}
	if st, _ := e.userinfo(body["access_token"].(string)); st != http.StatusUnauthorized {
		t.Errorf("userinfo with the ended family's access token: %d", st)
	}
}

func TestRefreshExpiryPolicies(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy server.RefreshExpiry
		steps  []time.Duration // clock moves before each refresh
		wantOK []bool
	}{
		{"idle limit", server.RefreshExpiry{ValidIfNotUsedFor: time.Hour}, []time.Duration{30 * time.Minute, 61 * time.Minute}, []bool{true, false}},
		{"absolute limit", server.RefreshExpiry{AbsoluteLifetime: 2 * time.Hour}, []time.Duration{time.Hour, 30 * time.Minute, 31 * time.Minute}, []bool{true, true, false}},
		{"rotation disabled", server.RefreshExpiry{DisableRotation: true}, []time.Duration{time.Hour, time.Hour}, []bool{true, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *server.Config) { c.Expiry.RefreshTokens = tc.policy })
			tok := e.passwordTokens("openid offline_access")["refresh_token"].(string)
			for i, d := range tc.steps {
				e.clock.Add(d)
				st, body := e.refresh(tok)
				if (st == 200) != tc.wantOK[i] {
					t.Fatalf("step %d: %d %v", i, st, body)
				}
				if st == 200 {
					if nt, ok := body["refresh_token"].(string); ok {
						tok = nt
					} else if !tc.policy.DisableRotation {
						t.Fatal("no rotated token")
					}
				}
			}
		})
	}
}

func TestPasswordGrant(t *testing.T) {
	e := newEnv(t)
	body := e.passwordTokens("openid email groups profile")
	idt, err := e.verifier(confidentialID).Verify(e.ctx(), body["id_token"].(string))
	if err != nil {
		t.Fatal(err)
	}
	var c idClaims
	idt.Claims(&c)
	if c.Email != "jane@example.com" || len(c.Groups) != 2 || c.PreferredName != "jane" {
		t.Errorf("claims %+v", c)
	}
	if _, ok := body["refresh_token"]; ok {
		t.Error("refresh token without offline_access")
	}
	for _, tc := range []struct{ name, user, pass, wantErr string }{
		{"wrong password", "jane@example.com", "nope", "invalid_grant"},
		{"unknown user", "ghost@example.com", "nope", "invalid_grant"},
		{"missing password", "jane@example.com", "", "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, body, _ := e.tokenRequest(url.Values{"grant_type": {"password"}, "username": {tc.user}, "password": {tc.pass}, "scope": {"openid"}}, confidentialID, confidentialSecret)
			if st != 400 || body["error"] != tc.wantErr {
				t.Errorf("%d %v", st, body)
			}
		})
	}
}

func TestPasswordGrantDisabledWithoutPasswordConnector(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.PasswordConnector = "" })
	st, body, _ := e.tokenRequest(url.Values{"grant_type": {"password"}, "username": {"jane@example.com"}, "password": {"correct horse"}}, confidentialID, confidentialSecret)
	if st != 400 || body["error"] != "unsupported_grant_type" {
		t.Errorf("%d %v", st, body)
	}
}

func TestLoginThrottle(t *testing.T) {
	e := newEnv(t)
	try := func(pass string) (int, map[string]any) {
		st, body, _ := e.tokenRequest(url.Values{"grant_type": {"password"}, "username": {"jane@example.com"}, "password": {pass}, "scope": {"openid"}}, confidentialID, confidentialSecret)
		return st, body
	}
	for i := 0; i < 3; i++ {
		try("wrong")
	}
	before := e.users.logins
	st, body := try("correct horse")
	if st != 400 || e.users.logins != before {
		t.Fatalf("after 3 failures the right password must be refused without asking the connector: %d %v", st, body)
	}
	e.clock.Add(5*time.Minute + time.Second)
	if st, body := try("correct horse"); st != 200 {
		t.Fatalf("after the ban: %d %v", st, body)
	}
	// The same for an unknown user: same message.
	var msgs []string
	for i := 0; i < 4; i++ {
		_, b := tryUser(e, "ghost@example.com", "x")
		msgs = append(msgs, b["error_description"].(string))
	}
	if msgs[0] != "invalid username or password" {
		t.Errorf("unknown user message %q", msgs[0])
	}
	if msgs[3] == msgs[0] {
		t.Errorf("unknown user not throttled: %v", msgs)
	}
}

func tryUser(e *env, user, pass string) (int, map[string]any) {
	st, body, _ := e.tokenRequest(url.Values{"grant_type": {"password"}, "username": {user}, "password": {pass}, "scope": {"openid"}}, confidentialID, confidentialSecret)
	return st, body
}
