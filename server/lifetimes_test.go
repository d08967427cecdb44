package server_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/torii-idp/torii/server"
)

// jwtTimes reads exp and iat of a JWT without verifying it (the flow tests
// verify signatures).
func jwtTimes(t *testing.T, tok string) (exp, iat int64) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Exp, Iat int64 }
	json.Unmarshal(b, &c)
	return c.Exp, c.Iat
}

// Per-client lifetimes: the web app gets short tokens and short refresh
// tokens; kubectl (no override) keeps the global ones.
func TestPerClientLifetimes(t *testing.T) {
	e := newEnv(t, func(c *server.Config) {
		c.Expiry.IDTokens = time.Hour
		c.Expiry.RefreshTokens.AbsoluteLifetime = 24 * time.Hour
		c.Clients[0].IDTokenLifetime = 10 * time.Minute
		c.Clients[0].RefreshTokenLifetime = time.Hour
		c.Clients[0].RefreshTokenValidIfNotUsedFor = 20 * time.Minute
	})
	body := e.passwordTokens("openid offline_access")
	if body["expires_in"] != float64(600) {
		t.Errorf("expires_in %v; want the client's 600", body["expires_in"])
	}
	for _, k := range []string{"access_token", "id_token"} {
		if exp, iat := jwtTimes(t, body[k].(string)); exp-iat != 600 {
			t.Errorf("%s lives %d s; want 600", k, exp-iat)
		}
	}
	rt := body["refresh_token"].(string)
	if st, in := e.introspect(rt, "refresh_token"); st != 200 || in["exp"] != float64(e.clock.Now().Add(20*time.Minute).Unix()) {
		t.Errorf("refresh token exp %v; want the idle limit, 20 minutes from now", in["exp"])
	}
	// Idle limit: used every 15 minutes it lives on, up to the hour.
	for range 3 {
		e.clock.Add(15 * time.Minute)
		st, next := e.refresh(rt)
		if st != 200 {
			t.Fatalf("refresh within the client's idle limit: %d %v", st, next)
		}
		rt = next["refresh_token"].(string)
	}
	e.clock.Add(16 * time.Minute) // 61 minutes since the login
	if st, body := e.refresh(rt); st != 400 || body["error"] != "invalid_grant" {
		t.Errorf("refresh past the client's absolute lifetime: %d %v", st, body)
	}
	// Idle past 20 minutes ends a fresh family too.
	rt = e.passwordTokens("openid offline_access")["refresh_token"].(string)
	e.clock.Add(21 * time.Minute)
	if st, body := e.refresh(rt); st != 400 || body["error"] != "invalid_grant" {
		t.Errorf("refresh idle past the client's limit: %d %v", st, body)
	}

	// A client without overrides keeps the global lifetime.
	da := e.deviceAuth(e.deviceConfig())
	b := e.browser()
	b.approveDevice(b.enterCode(da.VerificationURIComplete, ""))
	st, tok := e.devicePoll(da.DeviceCode, publicID, "")
	if st != 200 || tok["expires_in"] != float64(3600) {
		t.Fatalf("kubectl tokens: %d %v; want expires_in 3600", st, tok)
	}
}

func TestPerClientLifetimeValidation(t *testing.T) {
	_, err := server.New(t.Context(), server.Config{Issuer: "http://127.0.0.1:5556/dex", Storage: newEnv(t).store,
		Expiry:  server.Expiry{IDTokens: time.Hour},
		Clients: []server.Client{{ID: "a", Secret: "s", IDTokenLifetime: 2 * time.Hour}}})
	if err == nil || !strings.Contains(err.Error(), "longer than expiry.idTokens") {
		t.Errorf("idTokenLifetime above expiry.idTokens: %v", err)
	}
}
