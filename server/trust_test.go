package server_test

import (
	"testing"

	"github.com/torii-idp/torii/server"
)

func trusting(peer, client string) envOption {
	return func(c *server.Config) {
		for i := range c.Clients {
			if c.Clients[i].ID == peer {
				c.Clients[i].TrustedPeers = []string{client}
			}
		}
	}
}

// After trustedPeers is removed from the config, refreshing a token issued
// under the old trust must not yield an aud with the peer (item 7): scopes
// are checked against the current config at every mint.
func TestTrustRecheckedAtRefresh(t *testing.T) {
	old := newEnv(t, trusting(kubeflowID, confidentialID))
	tok := old.passwordTokens("openid offline_access audience:server:client_id:" + kubeflowID)["refresh_token"].(string)

	// The same storage and clock, the trust removed (a restart with a new config).
	e := newEnv(t, func(c *server.Config) { c.Storage = old.store; c.Now = old.clock.Now })
	st, body := e.refresh(tok)
	if st == 200 {
		t.Fatalf("refresh after the trust was removed: 200, aud in a new ID token: %v", body["id_token"] != nil)
	}
	if st != 400 || body["error"] != "invalid_scope" {
		t.Errorf("got %d %v, want 400 invalid_scope", st, body)
	}
	// With the trust still there the same refresh works.
	again := newEnv(t, trusting(kubeflowID, confidentialID), func(c *server.Config) { c.Storage = old.store; c.Now = old.clock.Now })
	if st, body := again.refresh(tok); st != 200 {
		t.Errorf("refresh with the trust in place: %d %v", st, body)
	}
}
