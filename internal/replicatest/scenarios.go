package replicatest

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

// TwoStores opens two stores (as two replicas would: their own pools or
// clients) on one fresh, shared storage; they are closed in t.Cleanup.
type TwoStores func(t *testing.T) [2]storage.Storage

// TwoReplicas starts two torii servers on the stores from open, behind one
// load balancer.
func TwoReplicas(t *testing.T, open TwoStores, clk *Clock, opts ...Option) (d *Deployment, a, b *Replica) {
	t.Helper()
	st := open(t)
	d = NewDeployment(t, clk, st[:], opts...)
	return d, d.Replicas[0], d.Replicas[1]
}

// verifier checks ID tokens the way a relying party does: discovery and
// JWKS fetched through the load balancer.
func (d *Deployment) Verifier(t *testing.T) *oidc.IDTokenVerifier {
	t.Helper()
	p, err := oidc.NewProvider(context.Background(), d.Issuer)
	if err != nil {
		t.Fatalf("discovery through the load balancer: %v", err)
	}
	return p.Verifier(&oidc.Config{ClientID: ClientID, Now: d.Clock.Now})
}

func VerifyIDToken(t *testing.T, v *oidc.IDTokenVerifier, what, raw string) {
	t.Helper()
	tok, err := v.Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("%s: ID token does not verify: %v", what, err)
	}
	var c struct {
		Email string `json:"email"`
	}
	if err := tok.Claims(&c); err != nil || c.Email != UserLogin {
		t.Fatalf("%s: ID token email %q (%v), want %q", what, c.Email, err, UserLogin)
	}
}

// LoginOnOneRefreshOnTheOther logs in through one Replica and keeps
// the session going through the other.
func LoginOnOneRefreshOnTheOther(t *testing.T, open TwoStores) {
	clk := NewClock()
	d, a, b := TwoReplicas(t, open, clk)
	v := d.Verifier(t)

	tests := []struct {
		name  string
		login func(t *testing.T) TokenResponse
	}{
		{"password grant on A", func(t *testing.T) TokenResponse { return a.PasswordLogin() }},
		{"Browser flow alternating A and B, code redeemed on B", func(t *testing.T) TokenResponse {
			code := NewBrowser(t, d.Issuer, a.Srv.URL, b.Srv.URL).LoginCode()
			tr, err := b.Exchange(code)
			if err != nil || tr.Status != http.StatusOK {
				t.Fatalf("code exchange on B: %v %v", tr, err)
			}
			return tr
		}},
		{"Browser flow through the load balancer", func(t *testing.T) TokenResponse {
			code := NewBrowser(t, d.Issuer, d.LB.URL).LoginCode()
			tr, err := a.Exchange(code)
			if err != nil || tr.Status != http.StatusOK {
				t.Fatalf("code exchange on A: %v %v", tr, err)
			}
			return tr
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := tt.login(t)
			VerifyIDToken(t, v, "login", tok.IDToken)
			rt := tok.RefreshToken
			for i, r := range []*Replica{b, a, b, b, a} {
				got, err := r.Refresh(rt)
				if err != nil || got.Status != http.StatusOK || got.RefreshToken == "" {
					t.Fatalf("refresh %d on %s: %v %v", i, r.Name, got, err)
				}
				VerifyIDToken(t, v, "refresh on "+r.Name, got.IDToken)
				rt = got.RefreshToken
				clk.Add(time.Minute) // past the reuse interval: the old token is spent
			}
			// The first token has been rotated: presenting it again is a
			// replay, refused by either Replica, and it revokes the family
			// (so the newest token stops working too).
			got, err := b.Refresh(tok.RefreshToken)
			if err != nil || got.Status != http.StatusBadRequest || got.Error != "invalid_grant" {
				t.Errorf("replaying the first refresh token on B: %v %v; want 400 invalid_grant", got, err)
			}
			got, err = a.Refresh(rt)
			if err != nil || got.Status != http.StatusBadRequest || got.Error != "invalid_grant" {
				t.Errorf("newest token on A after the family was revoked on B: %v %v; want 400 invalid_grant", got, err)
			}
		})
	}
}

// JWKSKids returns the sorted kids of a JWKS document.
func JWKSKids(t *testing.T, doc []byte) []string {
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

// KeyRotationSharedJWKS moves the shared Clock past the rotation time:
// the replicas' background loops Race to rotate, exactly one rotation
// happens, and both serve the same JWKS and sign with the same key.
func KeyRotationSharedJWKS(t *testing.T, open TwoStores) {
	clk := NewClock()
	// The signer's loop reloads every period/4 of real time (here 500 ms);
	// whether a rotation is due follows the injected Clock only.
	const period = 2 * time.Second
	d, a, b := TwoReplicas(t, open, clk, func(c *server.Config) { c.Expiry.SigningKeys = period })
	before := JWKSKids(t, a.JWKS())
	if got := JWKSKids(t, b.JWKS()); !slices.Equal(got, before) {
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
		ka, kb = JWKSKids(t, a.JWKS()), JWKSKids(t, b.JWKS())
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
	v := d.Verifier(t)
	for _, r := range []*Replica{a, b} {
		tok := r.PasswordLogin()
		VerifyIDToken(t, v, "after rotation, "+r.Name, tok.IDToken)
		kid := HeaderKid(t, tok.IDToken)
		if !slices.Contains(before, kid) {
			t.Errorf("%s signs with %s, which was not published before the rotation (%v)", r.Name, kid, before)
		}
	}
}

// CodeRedeemedOnceAcrossReplicas presents one code to both replicas at
// the same moment, several times over: exactly one exchange succeeds and
// the other is refused with invalid_grant (never a 5xx).
func CodeRedeemedOnceAcrossReplicas(t *testing.T, open TwoStores) {
	clk := NewClock()
	d, a, b := TwoReplicas(t, open, clk)
	for round := range 8 {
		code := NewBrowser(t, d.Issuer, d.LB.URL).LoginCode()
		results := Race(t, []*Replica{a, b}, func(r *Replica) (TokenResponse, error) { return r.Exchange(code) })
		var ok, refused int
		for i, got := range results {
			switch {
			case got.Status == http.StatusOK:
				ok++
			case got.Status == http.StatusBadRequest && got.Error == "invalid_grant":
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

// ConcurrentCodeReplayRevokes: the refused exchange of a code redeemed
// at the same moment elsewhere is a replay, so it must revoke what the
// winning exchange produced (RFC 6749 §4.1.2), including its refresh token.
func ConcurrentCodeReplayRevokes(t *testing.T, open TwoStores) {
	clk := NewClock()
	d, a, b := TwoReplicas(t, open, clk)
	for round := range 4 {
		code := NewBrowser(t, d.Issuer, d.LB.URL).LoginCode()
		results := Race(t, []*Replica{a, b}, func(r *Replica) (TokenResponse, error) { return r.Exchange(code) })
		for _, got := range results {
			if got.Status != http.StatusOK {
				continue
			}
			if got, err := b.Refresh(got.RefreshToken); err != nil || got.Status != http.StatusBadRequest {
				t.Errorf("round %d: refresh token of the replayed code: %v %v; want 400 (revoked)", round, got, err)
			}
		}
	}
}

// SameRefreshTokenOnBothReplicas presents one refresh token to both
// replicas at once: within the reuse interval both succeed (the storage's guard
// makes the second see the first's rotation) and the family lives on.
func SameRefreshTokenOnBothReplicas(t *testing.T, open TwoStores) {
	clk := NewClock()
	_, a, b := TwoReplicas(t, open, clk)
	for round := range 8 {
		first := a.PasswordLogin().RefreshToken
		results := Race(t, []*Replica{a, b}, func(r *Replica) (TokenResponse, error) { return r.Refresh(first) })
		for i, got := range results {
			if got.Status != http.StatusOK || got.RefreshToken == "" {
				t.Fatalf("round %d, %s: %v; want 200 within the reuse interval", round, []string{"A", "B"}[i], got)
			}
		}
		// The family continues from either new token, on either Replica.
		next := results[0].RefreshToken
		got, err := b.Refresh(next)
		if err != nil || got.Status != http.StatusOK {
			t.Fatalf("round %d: refreshing A's new token on B: %v %v", round, got, err)
		}
		clk.Add(time.Minute)
		// Both racing requests rotated the same token into one family: a
		// replay of the first token now revokes what both produced.
		if got, err := a.Refresh(first); err != nil || got.Status != http.StatusBadRequest || got.Error != "invalid_grant" {
			t.Fatalf("round %d: replay after the reuse interval: %v %v; want 400 invalid_grant", round, got, err)
		}
		for i, tok := range []string{got.RefreshToken, results[1].RefreshToken} {
			if got, err := a.Refresh(tok); err != nil || got.Status != http.StatusBadRequest {
				t.Errorf("round %d: token %d of the revoked family: %v %v; want 400", round, i, got, err)
			}
		}
	}
}

// LoginThrottlingIsShared: failed-login counters live in the shared storage, so
// two replicas do not allow twice the guesses.
func LoginThrottlingIsShared(t *testing.T, open TwoStores) {
	clk := NewClock()
	_, a, b := TwoReplicas(t, open, clk, func(c *server.Config) {
		c.Throttle = server.ThrottleConfig{FailuresPerUserAndIP: 3}
	})
	login := func(r *Replica, password string) TokenResponse {
		got, err := r.Token(url.Values{"grant_type": {"password"}, "username": {UserLogin}, "password": {password},
			"scope": {"openid"}})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	for range 3 {
		if got := login(a, "wrong"); got.Status != http.StatusBadRequest {
			t.Fatalf("wrong password on A: %v", got)
		}
	}
	if got := login(a, UserPassword); got.Status != http.StatusBadRequest {
		t.Errorf("right password on A after 3 failures: %v; want 400 (throttled)", got)
	}
	if got := login(b, UserPassword); got.Status != http.StatusBadRequest {
		t.Errorf("right password on B: %v; want 400 (throttled by A's failures)", got)
	}
	clk.Add(2 * time.Second) // past the first delay
	if got := login(b, UserPassword); got.Status != http.StatusOK {
		t.Errorf("right password on B after the delay: %v; want 200", got)
	}
}

// Race sends one request per Replica, released at the same moment, and
// returns the responses in Replica order. A transport error fails the test.
func Race(t *testing.T, rs []*Replica, do func(*Replica) (TokenResponse, error)) []TokenResponse {
	t.Helper()
	out := make([]TokenResponse, len(rs))
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

// HeaderKid returns the kid of a compact JWS without verifying it.
func HeaderKid(t *testing.T, jws string) string {
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

// Run runs every scenario above as a subtest on the stores from open.
func Run(t *testing.T, open TwoStores) {
	for _, s := range []struct {
		name string
		run  func(*testing.T, TwoStores)
	}{
		{"LoginOnOneRefreshOnTheOther", LoginOnOneRefreshOnTheOther},
		{"KeyRotationSharedJWKS", KeyRotationSharedJWKS},
		{"CodeRedeemedOnceAcrossReplicas", CodeRedeemedOnceAcrossReplicas},
		{"ConcurrentCodeReplayRevokes", ConcurrentCodeReplayRevokes},
		{"SameRefreshTokenOnBothReplicas", SameRefreshTokenOnBothReplicas},
		{"LoginThrottlingIsShared", LoginThrottlingIsShared},
	} {
		t.Run(s.name, func(t *testing.T) { s.run(t, open) })
	}
}
