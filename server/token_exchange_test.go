package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/torii-idp/torii/connector"
	"github.com/torii-idp/torii/server"
)

// fakeExchanger vouches for the token "good-<type>" only; "down" means the
// upstream does not answer.
type fakeExchanger struct{}

func (fakeExchanger) TokenIdentity(ctx context.Context, typ, tok string) (connector.Identity, error) {
	switch tok {
	case "good-" + typ:
		return connector.Identity{UserID: "up-1", Username: "Up", Email: "up@example.com", EmailVerified: true, Groups: []string{"g"}}, nil
	case "down":
		return connector.Identity{}, connector.ErrUnavailable
	}
	return connector.Identity{}, &connector.LoginError{Message: "not this provider's token"}
}

func TestTokenExchange(t *testing.T) {
	const (
		idType = "urn:ietf:params:oauth:token-type:id_token"
		atType = "urn:ietf:params:oauth:token-type:access_token"
		gt     = "urn:ietf:params:oauth:grant-type:token-exchange"
	)
	e := newEnv(t, func(c *server.Config) {
		c.Connectors = append(c.Connectors, server.Connector{ID: "corp", Type: "oidc", Name: "Corp", Callback: &fakeUpstream{}, TokenIdentity: fakeExchanger{}})
		// kubeflow trusts web-app; nobody trusts cli.
		c.Clients[2].TrustedPeers = []string{confidentialID}
	})
	form := func(kv ...string) url.Values {
		f := url.Values{"grant_type": {gt}, "connector_id": {"corp"}, "subject_token": {"good-" + idType}, "subject_token_type": {idType}}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				f.Del(kv[i])
			} else {
				f.Set(kv[i], kv[i+1])
			}
		}
		return f
	}
	t.Run("ID token for an access token", func(t *testing.T) {
		st, body, _ := e.tokenRequest(form("scope", "openid email groups offline_access"), confidentialID, confidentialSecret)
		if st != http.StatusOK || body["issued_token_type"] != atType || body["token_type"] != "bearer" || body["refresh_token"] != nil {
			t.Fatalf("%d %v", st, body)
		}
		c := jwtPayload(t, body["access_token"].(string))
		// Dex's sub for {up-1, corp}.
		if c["sub"] != "CgR1cC0xEgRjb3Jw" || c["email"] != "up@example.com" || c["aud"] != confidentialID {
			t.Errorf("claims %v", c)
		}
		if st, ui := e.userinfo(body["access_token"].(string)); st != http.StatusOK || ui["email"] != "up@example.com" {
			t.Errorf("userinfo with the exchanged token: %d %v", st, ui)
		}
	})
	t.Run("an ID token for a peer that trusts the client", func(t *testing.T) {
		st, body, _ := e.tokenRequest(form("requested_token_type", idType, "audience", kubeflowID), confidentialID, confidentialSecret)
		if st != http.StatusOK || body["issued_token_type"] != idType {
			t.Fatalf("%d %v", st, body)
		}
		if aud := jwtPayload(t, body["access_token"].(string))["aud"]; !containsAud(aud, kubeflowID) {
			t.Errorf("aud %v, want it to include %s", aud, kubeflowID)
		}
	})
	t.Run("a public client may exchange", func(t *testing.T) {
		f := form("subject_token", "good-"+atType, "subject_token_type", atType)
		f.Set("client_id", publicID)
		if st, body, _ := e.tokenRequest(f, "", ""); st != http.StatusOK {
			t.Errorf("%d %v", st, body)
		}
	})
	refused := []struct {
		name   string
		f      url.Values
		status int
		code   string
	}{
		{"no connector_id", form("connector_id", ""), 400, "invalid_request"},
		{"unknown connector", form("connector_id", "nope"), 400, "invalid_request"},
		{"connector without token exchange", form("connector_id", "local"), 400, "invalid_request"},
		{"no subject token", form("subject_token", ""), 400, "invalid_request"},
		{"unknown subject type", form("subject_token_type", "urn:x"), 400, "invalid_request"},
		{"unknown requested type", form("requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token"), 400, "invalid_request"},
		{"token the connector refuses", form("subject_token", "forged"), 400, "invalid_grant"},
		{"type mismatch", form("subject_token_type", atType), 400, "invalid_grant"},
		{"upstream down", form("subject_token", "down"), 503, "temporarily_unavailable"},
		{"audience not trusting the client", form("requested_token_type", idType, "audience", publicID), 400, "invalid_target"},
		{"audience for an access token", form("audience", kubeflowID), 400, "invalid_target"},
		{"actor token", form("actor_token", "x", "actor_token_type", idType), 400, "invalid_request"},
		{"resource", form("resource", "https://api.example"), 400, "invalid_target"},
		{"unknown scope", form("scope", "openid nope"), 400, "invalid_scope"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			st, body, _ := e.tokenRequest(tt.f, confidentialID, confidentialSecret)
			if st != tt.status || body["error"] != tt.code || body["access_token"] != nil {
				t.Errorf("%d %v, want %d %s", st, body, tt.status, tt.code)
			}
		})
	}
	t.Run("wrong client secret", func(t *testing.T) {
		if st, body, _ := e.tokenRequest(form(), confidentialID, "wrong"); st != http.StatusUnauthorized || body["error"] != "invalid_client" {
			t.Errorf("%d %v", st, body)
		}
	})
	t.Run("advertised in discovery", func(t *testing.T) {
		var d struct {
			GrantTypes []string `json:"grant_types_supported"`
		}
		if err := e.provider().Claims(&d); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, g := range d.GrantTypes {
			found = found || g == gt
		}
		if !found {
			t.Errorf("grant_types_supported %v lacks token exchange", d.GrantTypes)
		}
	})
}

func containsAud(aud any, want string) bool {
	switch a := aud.(type) {
	case string:
		return a == want
	case []any:
		for _, v := range a {
			if v == want {
				return true
			}
		}
	}
	return false
}

// jwtPayload decodes a JWT's claims without checking them.
func jwtPayload(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	var m map[string]any
	if err != nil || json.Unmarshal(b, &m) != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	return m
}
