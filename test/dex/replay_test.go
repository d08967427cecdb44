package dextest

import (
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/torii-idp/torii/internal/testlogin"
)

// TestRefreshReplayMatchesDex runs the same refresh sequence at the real
// Dex and at the real torii, each on its own database with the default
// reuse interval (3s): a refresh rotates the token; the old token again
// inside the interval gets the same new token at both; the old token
// again after the interval (4s later) is refused with a 400 at both,
// though its successor was never used (torii's code is invalid_grant).
// torii also revokes the family: checked for torii only.
func TestRefreshReplayMatchesDex(t *testing.T) {
	bins := buildPrograms(t)
	dir := t.TempDir()
	const reuse = 3 * time.Second
	extra := map[string]any{"expiry": map[string]any{"refreshTokens": map[string]any{"reuseInterval": reuse.String()}}}
	for _, who := range []string{"dex", "torii"} {
		t.Run(who, func(t *testing.T) {
			addr := freeAddr(t)
			issuer := "http://" + addr + "/dex"
			store := map[string]any{"type": "sqlite3", "config": map[string]any{"file": filepath.Join(dir, who+"-replay.db")}}
			cfg := writeConfig(t, filepath.Join(dir, who+"-replay.yaml"), issuer, addr, store, extra)
			bin := bins.dex
			if who == "torii" {
				bin = bins.torii
			}
			p := start(t, dir, who+"-replay", bin, "serve", cfg)
			defer p.stop(t)
			oc := &oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, RedirectURL: "http://127.0.0.1:5555/callback",
				Endpoint: waitProvider(t, issuer).Endpoint(), Scopes: []string{oidc.ScopeOpenID, "email", oidc.ScopeOfflineAccess}}
			tok, err := oc.Exchange(t.Context(), login(t, oc, aliceEmail, alicePass, "n-replay-"+who))
			if err != nil {
				t.Fatalf("token exchange: %v", err)
			}
			// Dex rotates only a token older than its reuse interval.
			time.Sleep(reuse + time.Second)
			old := tok.RefreshToken
			next := testlogin.Refresh(t, oc, old)
			if next.RefreshToken == "" || next.RefreshToken == old {
				t.Fatalf("the refresh did not rotate: %q", next.RefreshToken)
			}
			if again := testlogin.Refresh(t, oc, old); again.RefreshToken != next.RefreshToken {
				t.Fatalf("old token inside the reuse interval: refresh token %q, want the same successor %q", again.RefreshToken, next.RefreshToken)
			}
			time.Sleep(reuse + time.Second)
			_, err = oc.TokenSource(t.Context(), &oauth2.Token{RefreshToken: old}).Token()
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.Response.StatusCode != http.StatusBadRequest {
				t.Fatalf("old token 4s after the rotation, successor unused: %v; want a 400 refusal", err)
			}
			t.Logf("%s: old token after the reuse interval: %d %s", who, re.Response.StatusCode, re.ErrorCode)
			if who == "torii" {
				// RFC 6749 §5.2's code for a used refresh token (Dex's own
				// code for it is logged above).
				if re.ErrorCode != "invalid_grant" {
					t.Fatalf("torii's refusal: %q, want invalid_grant", re.ErrorCode)
				}
				testlogin.RefreshFails(t, oc, next.RefreshToken, "the successor after the replay (torii revokes the family)")
			}
		})
	}
}
