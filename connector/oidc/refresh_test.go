package oidc

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/torii-idp/torii/connector"
)

func TestRefresh(t *testing.T) {
	op := newFakeOP(t)
	bg := context.Background()
	offline := connector.Scopes{OfflineAccess: true, Groups: true}
	start := func(t *testing.T, c *Connector) connector.Identity {
		t.Helper()
		id, err := login(t, c, op, offline, map[string]any{"groups": []any{"dev"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}

	t.Run("claims and groups are read again; a rotated token is kept", func(t *testing.T) {
		op.set(func(op *fakeOP) { op.rotate = true })
		defer op.set(func(op *fakeOP) { op.rotate = false })
		c := newConn(t, op, func(c *Config) { c.InsecureEnableGroups = true })
		id := start(t, c)
		// The provider's view of the person changes.
		op.set(func(op *fakeOP) {
			for k, g := range op.refreshes {
				g.claims = op.idClaims(map[string]any{"groups": []any{"dev", "ops"}, "email": "ada@new.example"})
				op.refreshes[k] = g
			}
		})
		next, err := c.Refresh(bg, offline, id)
		if err != nil {
			t.Fatal(err)
		}
		if next.Email != "ada@new.example" || !slices.Equal(next.Groups, []string{"dev", "ops"}) || next.UserID != id.UserID {
			t.Errorf("refreshed identity %+v", next)
		}
		if bytes.Equal(next.ConnectorData, id.ConnectorData) || len(next.ConnectorData) == 0 {
			t.Error("the rotated upstream refresh token was not returned")
		}
		// The old upstream token was rotated away: using it is refused.
		if _, err := c.Refresh(bg, offline, id); !errors.Is(err, connector.ErrUserGone) {
			t.Errorf("old upstream token: err = %v, want ErrUserGone", err)
		}
		if _, err := c.Refresh(bg, offline, next); err != nil {
			t.Errorf("new upstream token: %v", err)
		}
	})
	t.Run("no id_token in the refresh response keeps the claims", func(t *testing.T) {
		op.set(func(op *fakeOP) { op.noIDToken = true })
		defer op.set(func(op *fakeOP) { op.noIDToken = false })
		c := newConn(t, op, nil)
		id := start(t, c)
		next, err := c.Refresh(bg, offline, id)
		if err != nil || next.Email != id.Email {
			t.Fatalf("Refresh = %+v, %v", next, err)
		}
		before, _ := c.openRefresh(id.ConnectorData)
		if after, err := c.openRefresh(next.ConnectorData); err != nil || after != before || after == "" {
			t.Errorf("the unrotated upstream token changed: %q -> %q (%v)", before, after, err)
		}
	})
	t.Run("upstream refusal is ErrUserGone", func(t *testing.T) {
		c := newConn(t, op, nil)
		id := start(t, c)
		op.set(func(op *fakeOP) { op.refreshes = map[string]grant{} }) // revoked upstream
		if _, err := c.Refresh(bg, offline, id); !errors.Is(err, connector.ErrUserGone) {
			t.Errorf("err = %v, want ErrUserGone", err)
		}
	})
	t.Run("a person who left the allowed groups is refused", func(t *testing.T) {
		c := newConn(t, op, func(c *Config) { c.InsecureEnableGroups = true; c.AllowedGroups = []string{"dev"} })
		id := start(t, c)
		op.set(func(op *fakeOP) {
			for k, g := range op.refreshes {
				g.claims = op.idClaims(map[string]any{"groups": []any{"former"}})
				op.refreshes[k] = g
			}
		})
		if _, err := c.Refresh(bg, offline, id); !errors.Is(err, connector.ErrUserGone) {
			t.Errorf("err = %v, want ErrUserGone", err)
		}
	})
	t.Run("another sub is refused", func(t *testing.T) {
		c := newConn(t, op, nil)
		id := start(t, c)
		op.set(func(op *fakeOP) {
			for k, g := range op.refreshes {
				g.claims = op.idClaims(map[string]any{"sub": "user-2"})
				op.refreshes[k] = g
			}
		})
		if _, err := c.Refresh(bg, offline, id); !errors.Is(err, connector.ErrUserGone) {
			t.Errorf("err = %v, want ErrUserGone", err)
		}
	})
	t.Run("provider down is ErrUnavailable", func(t *testing.T) {
		c := newConn(t, op, nil)
		id := start(t, c)
		op.set(func(op *fakeOP) { op.down = true })
		defer op.set(func(op *fakeOP) { op.down = false })
		if _, err := c.Refresh(bg, offline, id); !errors.Is(err, connector.ErrUnavailable) {
			t.Errorf("err = %v, want ErrUnavailable", err)
		}
	})
	t.Run("connector data of a Dex login (import-dex) is read and sealed", func(t *testing.T) {
		c := newConn(t, op, nil)
		op.set(func(op *fakeOP) { op.refreshes["dex-upstream-rt"] = grant{claims: op.idClaims(nil)} })
		// Dex's oidc connector data: {"RefreshToken": base64 of the token}.
		dexData := []byte(`{"RefreshToken":"ZGV4LXVwc3RyZWFtLXJ0"}`)
		next, err := c.Refresh(bg, offline, connector.Identity{UserID: "user-1", ConnectorData: dexData})
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(next.ConnectorData, []byte("RefreshToken")) || bytes.Equal(next.ConnectorData, dexData) {
			t.Errorf("connector data %q not sealed", next.ConnectorData)
		}
		if rt, err := c.openRefresh(next.ConnectorData); err != nil || rt != "dex-upstream-rt" {
			t.Errorf("sealed data opens to %q, %v", rt, err)
		}
	})
	t.Run("connector data sealed with another secret is refused", func(t *testing.T) {
		c := newConn(t, op, nil)
		id := start(t, c)
		other := newConn(t, op, func(c *Config) { c.ClientSecret = "rotated" })
		if _, err := other.Refresh(bg, offline, id); !errors.Is(err, connector.ErrUserGone) {
			t.Errorf("err = %v, want ErrUserGone", err)
		}
		if _, err := c.Refresh(bg, offline, connector.Identity{UserID: "user-1"}); !errors.Is(err, connector.ErrUserGone) {
			t.Errorf("no upstream refresh token: err = %v, want ErrUserGone", err)
		}
	})
}

func TestTokenIdentity(t *testing.T) {
	op := newFakeOP(t)
	bg := context.Background()
	c := newConn(t, op, func(c *Config) { c.TrustedAudiences = []string{"kubectl"} })
	tests := []struct {
		name   string
		typ    string
		token  string
		ok     bool
		userID string
	}{
		{"ID token for the connector's client", TokenTypeIDToken, op.sign(op.idClaims(nil), nil), true, "user-1"},
		{"ID token for a trusted audience", TokenTypeIDToken, op.sign(op.idClaims(map[string]any{"aud": []any{"kubectl", "x"}}), nil), true, "user-1"},
		{"ID token for another client (Dex accepts it)", TokenTypeIDToken, op.sign(op.idClaims(map[string]any{"aud": "someone-else"}), nil), false, ""},
		{"expired ID token", TokenTypeIDToken, op.sign(op.idClaims(map[string]any{"exp": time.Now().Add(-time.Minute).Unix()}), nil), false, ""},
		{"ID token signed by another key", TokenTypeIDToken, op.sign(op.idClaims(nil), op.other), false, ""},
		{"ID token of another issuer", TokenTypeIDToken, op.sign(op.idClaims(map[string]any{"iss": "https://evil.example"}), nil), false, ""},
		{"access token without getUserInfo", TokenTypeAccessToken, "at-anything", false, ""},
		{"unknown token type", "urn:x", "t", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := c.TokenIdentity(bg, tt.typ, tt.token)
			if tt.ok != (err == nil) || id.UserID != tt.userID {
				t.Errorf("TokenIdentity = %+v, %v; want ok=%v", id, err, tt.ok)
			}
			if err != nil && loginMessage(err) == (message{}) {
				t.Errorf("a refused token is not a LoginError: %v", err)
			}
		})
	}
	t.Run("access token through userinfo", func(t *testing.T) {
		c := newConn(t, op, func(c *Config) { c.GetUserInfo = true })
		op.set(func(op *fakeOP) {
			op.userinfo = map[string]any{"sub": "user-9", "name": "Nine", "email": "nine@example.com", "email_verified": true}
		})
		id, err := c.TokenIdentity(bg, TokenTypeAccessToken, "at-opaque")
		if err != nil || id.UserID != "user-9" || id.Email != "nine@example.com" {
			t.Errorf("TokenIdentity = %+v, %v", id, err)
		}
		if _, err := c.TokenIdentity(bg, TokenTypeAccessToken, "bad"); loginMessage(err) == (message{}) {
			t.Errorf("a token userinfo refuses: err = %v", err)
		}
		jwtForOther := op.sign(map[string]any{"aud": "https://graph.example", "sub": "user-9"}, nil)
		if _, err := c.TokenIdentity(bg, TokenTypeAccessToken, jwtForOther); loginMessage(err) == (message{}) {
			t.Errorf("a JWT access token for another audience: err = %v", err)
		}
	})
}
