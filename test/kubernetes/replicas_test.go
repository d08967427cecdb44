package kubernetes_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/torii-idp/torii/server"
	"github.com/torii-idp/torii/storage"
)

// twoReplicas starts two torii servers, each with its own kubernetes
// storage (its own client and lock holder), on one fresh namespace of the
// shared API server, behind one load balancer.
func twoReplicas(t *testing.T, clk *clock, opts ...option) (d *deployment, a, b *replica) {
	t.Helper()
	ns, rules := namespace("replicas"), saRules(t)
	d = newDeployment(t, clk, []storage.Storage{openStore(t, shared, ns, rules), openStore(t, shared, ns, rules)}, opts...)
	return d, d.replicas[0], d.replicas[1]
}

// verifier checks ID tokens the way a relying party does: discovery and
// JWKS fetched through the load balancer.
func (d *deployment) verifier(t *testing.T) *oidc.IDTokenVerifier {
	t.Helper()
	p, err := oidc.NewProvider(context.Background(), d.issuer)
	if err != nil {
		t.Fatalf("discovery through the load balancer: %v", err)
	}
	return p.Verifier(&oidc.Config{ClientID: clientID, Now: d.clock.Now})
}

func verifyIDToken(t *testing.T, v *oidc.IDTokenVerifier, what, raw string) {
	t.Helper()
	tok, err := v.Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("%s: ID token does not verify: %v", what, err)
	}
	var c struct {
		Email string `json:"email"`
	}
	if err := tok.Claims(&c); err != nil || c.Email != userLogin {
		t.Fatalf("%s: ID token email %q (%v), want %q", what, c.Email, err, userLogin)
	}
}

// TestLoginOnOneRefreshOnTheOther logs in through one replica and keeps
// the session going through the other.
func TestLoginOnOneRefreshOnTheOther(t *testing.T) {
	clk := newClock()
	d, a, b := twoReplicas(t, clk)
	v := d.verifier(t)

	tests := []struct {
		name  string
		login func(t *testing.T) tokenResponse
	}{
		{"password grant on A", func(t *testing.T) tokenResponse { return a.passwordLogin() }},
		{"browser flow alternating A and B, code redeemed on B", func(t *testing.T) tokenResponse {
			code := newBrowser(t, d.issuer, a.srv.URL, b.srv.URL).loginCode()
			tr, err := b.exchange(code)
			if err != nil || tr.status != http.StatusOK {
				t.Fatalf("code exchange on B: %v %v", tr, err)
			}
			return tr
		}},
		{"browser flow through the load balancer", func(t *testing.T) tokenResponse {
			code := newBrowser(t, d.issuer, d.lb.URL).loginCode()
			tr, err := a.exchange(code)
			if err != nil || tr.status != http.StatusOK {
				t.Fatalf("code exchange on A: %v %v", tr, err)
			}
			return tr
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := tt.login(t)
			verifyIDToken(t, v, "login", tok.IDToken)
			rt := tok.RefreshToken
			for i, r := range []*replica{b, a, b, b, a} {
				got, err := r.refresh(rt)
				if err != nil || got.status != http.StatusOK || got.RefreshToken == "" {
					t.Fatalf("refresh %d on %s: %v %v", i, r.name, got, err)
				}
				verifyIDToken(t, v, "refresh on "+r.name, got.IDToken)
				rt = got.RefreshToken
				clk.Add(time.Minute) // past the reuse interval: the old token is spent
			}
			// The first token has been rotated: presenting it again is a
			// replay, refused by either replica, and it revokes the family
			// (so the newest token stops working too).
			got, err := b.refresh(tok.RefreshToken)
			if err != nil || got.status != http.StatusBadRequest || got.Error != "invalid_grant" {
				t.Errorf("replaying the first refresh token on B: %v %v; want 400 invalid_grant", got, err)
			}
			got, err = a.refresh(rt)
			if err != nil || got.status != http.StatusBadRequest || got.Error != "invalid_grant" {
				t.Errorf("newest token on A after the family was revoked on B: %v %v; want 400 invalid_grant", got, err)
			}
		})
	}
}

// jwksKids returns the sorted kids of a JWKS document.
func jwksKids(t *testing.T, doc []byte) []string {
	t.Helper()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	slices.Sort(kids)
	return kids
}

// TestKeyRotationSharedJWKS moves the shared clock past the rotation time:
// the replicas' background loops race to rotate, exactly one rotation
// happens, and both serve the same JWKS and sign with the same key.
func TestKeyRotationSharedJWKS(t *testing.T) {
	clk := newClock()
	// The signer's loop reloads every period/4 of real time (here 500 ms);
	// whether a rotation is due follows the injected clock only.
	const period = 2 * time.Second
	d, a, b := twoReplicas(t, clk, func(c *server.Config) { c.Expiry.SigningKeys = period })
	before := jwksKids(t, a.jwks())
	if got := jwksKids(t, b.jwks()); !slices.Equal(got, before) {
		t.Fatalf("replicas start with different keys: %v and %v", before, got)
	}
	if len(before) != 2 {
		t.Fatalf("JWKS before rotation has %d keys (%v), want active and next", len(before), before)
	}

	clk.Add(period + time.Second)
	// Wait (bounded, generously) until both loops have run and reloaded.
	deadline := time.Now().Add(time.Minute)
	var ka, kb []string
	for time.Now().Before(deadline) {
		ka, kb = jwksKids(t, a.jwks()), jwksKids(t, b.jwks())
		if len(ka) == 3 && slices.Equal(ka, kb) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !slices.Equal(ka, kb) {
		t.Fatalf("after rotation the replicas serve different keys: %v and %v", ka, kb)
	}
	// One rotation keeps both old keys (one retired, one now active) and
	// adds exactly one; two rotations would add two.
	var added int
	for _, k := range ka {
		if !slices.Contains(before, k) {
			added++
		}
	}
	if len(ka) != 3 || added != 1 {
		t.Fatalf("JWKS after rotation %v (before %v): want the two old keys and exactly one new one", ka, before)
	}
	// Both replicas sign with the key that was Next before the rotation,
	// and a relying party verifies tokens from either through the balancer.
	v := d.verifier(t)
	for _, r := range []*replica{a, b} {
		tok := r.passwordLogin()
		verifyIDToken(t, v, "after rotation, "+r.name, tok.IDToken)
		kid := headerKid(t, tok.IDToken)
		if !slices.Contains(before, kid) {
			t.Errorf("%s signs with %s, which was not published before the rotation (%v)", r.name, kid, before)
		}
	}
}

// TestCodeRedeemedOnceAcrossReplicas presents one code to both replicas at
// the same moment, several times over: exactly one exchange succeeds and
// the other is refused with invalid_grant (never a 5xx).
func TestCodeRedeemedOnceAcrossReplicas(t *testing.T) {
	clk := newClock()
	d, a, b := twoReplicas(t, clk)
	for round := range 8 {
		code := newBrowser(t, d.issuer, d.lb.URL).loginCode()
		results := race(t, []*replica{a, b}, func(r *replica) (tokenResponse, error) { return r.exchange(code) })
		var ok, refused int
		for i, got := range results {
			switch {
			case got.status == http.StatusOK:
				ok++
			case got.status == http.StatusBadRequest && got.Error == "invalid_grant":
				refused++
			default:
				t.Errorf("round %d, %s: %v", round, []string{"A", "B"}[i], got)
			}
		}
		if ok != 1 || refused != 1 {
			t.Errorf("round %d: %d exchanges succeeded and %d were refused; want 1 and 1", round, ok, refused)
		}
	}
}

// TestConcurrentCodeReplayRevokes: the refused exchange of a code redeemed
// at the same moment elsewhere is a replay, so it must revoke what the
// winning exchange produced (RFC 6749 §4.1.2), including its refresh token.
func TestConcurrentCodeReplayRevokes(t *testing.T) {
	clk := newClock()
	d, a, b := twoReplicas(t, clk)
	for round := range 4 {
		code := newBrowser(t, d.issuer, d.lb.URL).loginCode()
		results := race(t, []*replica{a, b}, func(r *replica) (tokenResponse, error) { return r.exchange(code) })
		for _, got := range results {
			if got.status != http.StatusOK {
				continue
			}
			if got, err := b.refresh(got.RefreshToken); err != nil || got.status != http.StatusBadRequest {
				t.Errorf("round %d: refresh token of the replayed code: %v %v; want 400 (revoked)", round, got, err)
			}
		}
	}
}

// TestSameRefreshTokenOnBothReplicas presents one refresh token to both
// replicas at once: within the reuse interval both succeed (the resourceVersion check
// makes the second see the first's rotation) and the family lives on.
func TestSameRefreshTokenOnBothReplicas(t *testing.T) {
	clk := newClock()
	_, a, b := twoReplicas(t, clk)
	for round := range 8 {
		first := a.passwordLogin().RefreshToken
		results := race(t, []*replica{a, b}, func(r *replica) (tokenResponse, error) { return r.refresh(first) })
		for i, got := range results {
			if got.status != http.StatusOK || got.RefreshToken == "" {
				t.Fatalf("round %d, %s: %v; want 200 within the reuse interval", round, []string{"A", "B"}[i], got)
			}
		}
		// The family continues from either new token, on either replica.
		next := results[0].RefreshToken
		got, err := b.refresh(next)
		if err != nil || got.status != http.StatusOK {
			t.Fatalf("round %d: refreshing A's new token on B: %v %v", round, got, err)
		}
		clk.Add(time.Minute)
		// Both racing requests rotated the same token into one family: a
		// replay of the first token now revokes what both produced.
		if got, err := a.refresh(first); err != nil || got.status != http.StatusBadRequest || got.Error != "invalid_grant" {
			t.Fatalf("round %d: replay after the reuse interval: %v %v; want 400 invalid_grant", round, got, err)
		}
		for i, tok := range []string{got.RefreshToken, results[1].RefreshToken} {
			if got, err := a.refresh(tok); err != nil || got.status != http.StatusBadRequest {
				t.Errorf("round %d: token %d of the revoked family: %v %v; want 400", round, i, got, err)
			}
		}
	}
}

// TestLoginThrottlingIsShared: failed-login counters live in the API server, so
// two replicas do not allow twice the guesses.
func TestLoginThrottlingIsShared(t *testing.T) {
	clk := newClock()
	_, a, b := twoReplicas(t, clk, func(c *server.Config) {
		c.Throttle = server.ThrottleConfig{FailuresPerUserAndIP: 3}
	})
	login := func(r *replica, password string) tokenResponse {
		got, err := r.token(url.Values{"grant_type": {"password"}, "username": {userLogin}, "password": {password},
			"scope": {"openid"}})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	for range 3 {
		if got := login(a, "wrong"); got.status != http.StatusBadRequest {
			t.Fatalf("wrong password on A: %v", got)
		}
	}
	if got := login(a, userPassword); got.status != http.StatusBadRequest {
		t.Errorf("right password on A after 3 failures: %v; want 400 (throttled)", got)
	}
	if got := login(b, userPassword); got.status != http.StatusBadRequest {
		t.Errorf("right password on B: %v; want 400 (throttled by A's failures)", got)
	}
	clk.Add(2 * time.Second) // past the first delay
	if got := login(b, userPassword); got.status != http.StatusOK {
		t.Errorf("right password on B after the delay: %v; want 200", got)
	}
}

// race sends one request per replica, released at the same moment, and
// returns the responses in replica order. A transport error fails the test.
func race(t *testing.T, rs []*replica, do func(*replica) (tokenResponse, error)) []tokenResponse {
	t.Helper()
	out := make([]tokenResponse, len(rs))
	errs := make([]error, len(rs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, r := range rs {
		wg.Go(func() {
			<-start
			out[i], errs[i] = do(r)
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// headerKid returns the kid of a compact JWS without verifying it.
func headerKid(t *testing.T, jws string) string {
	t.Helper()
	var h struct {
		Kid string `json:"kid"`
	}
	head, _, _ := strings.Cut(jws, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil || json.Unmarshal(raw, &h) != nil {
		t.Fatalf("malformed JWS header: %v", err)
	}
	return h.Kid
}
