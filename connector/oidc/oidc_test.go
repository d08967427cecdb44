package oidc

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/torii-idp/torii/connector"
)

const callback = "https://torii.example/callback"

func newConn(t *testing.T, op *fakeOP, mutate func(*Config)) *Connector {
	t.Helper()
	cfg := Config{Issuer: op.url(), ClientID: "torii", ClientSecret: "s3cret", RedirectURI: callback}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := Open("up", cfg, callback, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// login runs LoginURL, lets the fake OP issue a code for the claims (the
// login's nonce added unless claims set one; change edits the grant), and
// hands the callback to the connector.
func login(t *testing.T, c *Connector, op *fakeOP, s connector.Scopes, claims map[string]any, change func(*grant)) (connector.Identity, error) {
	t.Helper()
	u, state, err := c.LoginURL(context.Background(), s, callback, "req-1")
	if err != nil {
		return connector.Identity{}, err
	}
	q := mustQuery(t, u)
	if q.Get("state") != "req-1" || q.Get("redirect_uri") != callback || q.Get("client_id") != "torii" {
		t.Fatalf("login URL %s", u)
	}
	full := op.idClaims(claims)
	if _, set := claims["nonce"]; !set {
		full["nonce"] = q.Get("nonce")
	}
	g := grant{claims: full, verifier: q.Get("code_challenge"), method: q.Get("code_challenge_method")}
	if change != nil {
		change(&g)
	}
	code := "code-" + randomString()
	op.set(func(op *fakeOP) { op.codes[code] = g })
	return c.HandleCallback(context.Background(), s, state, url.Values{"code": {code}})
}

func mustQuery(t *testing.T, u string) url.Values {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.Query()
}

// loginMessage is the refusal's key and text (zero when err is none).
func loginMessage(err error) message {
	var le *connector.LoginError
	if errors.As(err, &le) {
		return message{Key: le.Key, Text: le.Message}
	}
	return message{}
}

func TestLoginURL(t *testing.T) {
	op := newFakeOP(t)
	tests := []struct {
		name   string
		cfg    func(*Config)
		pkce   bool
		s      connector.Scopes
		want   map[string]string // "" means absent
		method string
	}{
		{name: "S256 when advertised", pkce: true, want: map[string]string{"scope": "openid profile email", "prompt": "", "access_type": ""}, method: "S256"},
		{name: "no PKCE when not advertised", pkce: false, method: ""},
		{name: "pkceChallenge S256 forced", pkce: false, cfg: func(c *Config) { c.PKCEChallenge = "S256" }, method: "S256"},
		{name: "pkceChallenge plain", pkce: true, cfg: func(c *Config) { c.PKCEChallenge = "plain" }, method: "plain"},
		{name: "offline access: consent prompt", s: connector.Scopes{OfflineAccess: true}, pkce: true, method: "S256",
			want: map[string]string{"prompt": "consent", "access_type": "offline"}},
		{name: "promptType login", s: connector.Scopes{OfflineAccess: true}, pkce: true, method: "S256",
			cfg: func(c *Config) { p := "login"; c.PromptType = &p }, want: map[string]string{"prompt": "login"}},
		{name: "empty promptType sends none", s: connector.Scopes{OfflineAccess: true}, pkce: true, method: "S256",
			cfg: func(c *Config) { p := ""; c.PromptType = &p }, want: map[string]string{"prompt": ""}},
		{name: "scopes, acr values, hosted domain", pkce: true, method: "S256",
			cfg: func(c *Config) {
				c.Scopes = []string{"email", "groups", "offline_access"}
				c.AcrValues = []string{"mfa", "pwd"}
				c.HostedDomains = []string{"example.com"}
			},
			want: map[string]string{"scope": "openid email groups offline_access", "acr_values": "mfa pwd", "hd": "example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op.set(func(op *fakeOP) { op.pkce = tt.pkce })
			c := newConn(t, op, tt.cfg)
			u, state, err := c.LoginURL(context.Background(), tt.s, callback, "st")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(u, op.url()+"/authorize?") {
				t.Fatalf("login URL %s", u)
			}
			q := mustQuery(t, u)
			if q.Get("nonce") == "" || !bytes.Contains(state, []byte(q.Get("nonce"))) {
				t.Errorf("nonce %q not kept in the login state", q.Get("nonce"))
			}
			if q.Get("code_challenge_method") != tt.method || (tt.method == "") != (q.Get("code_challenge") == "") {
				t.Errorf("code_challenge_method %q (challenge %q), want %q", q.Get("code_challenge_method"), q.Get("code_challenge"), tt.method)
			}
			if tt.method != "" && bytes.Contains(state, []byte(q.Get("code_challenge"))) && tt.method == "S256" {
				t.Errorf("the S256 challenge equals the kept verifier")
			}
			for k, v := range tt.want {
				if q.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, q.Get(k), v)
				}
			}
		})
	}
	t.Run("redirectURI must be torii's callback", func(t *testing.T) {
		c := newConn(t, op, nil)
		if _, _, err := c.LoginURL(context.Background(), connector.Scopes{}, "https://other.example/callback", "st"); err == nil {
			t.Error("a login URL for another callback was made")
		}
	})
}

func TestCallback(t *testing.T) {
	op := newFakeOP(t)
	c := newConn(t, op, nil)
	bg := context.Background()

	t.Run("login", func(t *testing.T) {
		id, err := login(t, c, op, connector.Scopes{}, map[string]any{"preferred_username": "ada"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := connector.Identity{UserID: "user-1", Username: "Ada Lovelace", PreferredUsername: "ada", Email: "ada@example.com", EmailVerified: true}
		data := id.ConnectorData
		id.ConnectorData = nil
		if !equalIdentity(id, want) {
			t.Errorf("identity %+v, want %+v", id, want)
		}
		if len(data) == 0 || bytes.Contains(data, []byte("rt-")) {
			t.Errorf("connector data %q: want the sealed upstream refresh token", data)
		}
		if op.lastAuth == "" || op.lastForm.Get("client_secret") != "" {
			t.Errorf("client secret not sent by basic auth (Authorization %q, form %v)", op.lastAuth, op.lastForm)
		}
	})
	t.Run("basicAuthUnsupported sends the secret in the body", func(t *testing.T) {
		yes := true
		c := newConn(t, op, func(c *Config) { c.BasicAuthUnsupported = &yes })
		if _, err := login(t, c, op, connector.Scopes{}, nil, nil); err != nil {
			t.Fatal(err)
		}
		if op.lastAuth != "" || op.lastForm.Get("client_secret") != "s3cret" {
			t.Errorf("Authorization %q, form secret %q", op.lastAuth, op.lastForm.Get("client_secret"))
		}
	})

	refusals := []struct {
		name   string
		claims map[string]any
		change func(*grant)
		msg    message
	}{
		{"wrong issuer", map[string]any{"iss": "https://evil.example"}, nil, msgBadIDToken},
		{"wrong audience", map[string]any{"aud": "someone-else"}, nil, msgBadIDToken},
		{"wrong nonce", map[string]any{"nonce": "not-this-login"}, nil, msgBadIDToken},
		{"no nonce", map[string]any{"nonce": nil}, nil, msgBadIDToken},
		{"expired", map[string]any{"exp": time.Now().Add(-time.Minute).Unix(), "iat": time.Now().Add(-time.Hour).Unix()}, nil, msgBadIDToken},
		{"bad signature", nil, func(g *grant) { g.signWith = op.other }, msgBadIDToken},
		{"PKCE verifier mismatch", nil, func(g *grant) { g.verifier = "something-else" }, msgExchangeFailed},
		{"missing sub", map[string]any{"sub": nil}, nil, msgMissingClaim},
		{"missing name", map[string]any{"name": nil}, nil, msgMissingClaim},
		{"missing email", map[string]any{"email": nil}, nil, msgMissingClaim},
		{"missing email_verified", map[string]any{"email_verified": nil}, nil, msgMissingClaim},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			id, err := login(t, c, op, connector.Scopes{}, tt.claims, tt.change)
			if got := loginMessage(err); got != tt.msg {
				t.Errorf("err = %v (identity %+v), want the message %q", err, id, tt.msg)
			}
		})
	}

	t.Run("upstream errors", func(t *testing.T) {
		_, state, err := c.LoginURL(bg, connector.Scopes{}, callback, "st")
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []struct {
			v   url.Values
			msg message
		}{
			{url.Values{"error": {"access_denied"}, "error_description": {"user said no"}}, msgDenied},
			{url.Values{"error": {"server_error"}}, msgUpstreamError},
			{url.Values{}, msgNoCode},
			{url.Values{"code": {"never-issued"}}, msgExchangeFailed},
		} {
			if _, err := c.HandleCallback(bg, connector.Scopes{}, state, q.v); loginMessage(err) != q.msg {
				t.Errorf("callback %v: err = %v, want %q", q.v, err, q.msg)
			}
		}
		if _, err := c.HandleCallback(bg, connector.Scopes{}, []byte("garbage"), url.Values{"code": {"x"}}); loginMessage(err) == (message{}) {
			t.Errorf("unreadable login state: err = %v", err)
		}
	})
	t.Run("a code is redeemed once", func(t *testing.T) {
		u, state, _ := c.LoginURL(bg, connector.Scopes{}, callback, "st")
		q := mustQuery(t, u)
		cl := op.idClaims(map[string]any{"nonce": q.Get("nonce")})
		op.set(func(op *fakeOP) {
			op.codes["once"] = grant{claims: cl, verifier: q.Get("code_challenge"), method: "S256"}
		})
		if _, err := c.HandleCallback(bg, connector.Scopes{}, state, url.Values{"code": {"once"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.HandleCallback(bg, connector.Scopes{}, state, url.Values{"code": {"once"}}); loginMessage(err) != msgExchangeFailed {
			t.Errorf("replayed code: err = %v", err)
		}
	})
	t.Run("token endpoint failing is unavailable", func(t *testing.T) {
		op.set(func(op *fakeOP) { op.tokenStatus = 503 })
		defer op.set(func(op *fakeOP) { op.tokenStatus = 0 })
		_, err := login(t, c, op, connector.Scopes{}, nil, nil)
		if !errors.Is(err, connector.ErrUnavailable) {
			t.Errorf("err = %v, want ErrUnavailable", err)
		}
	})
}

func equalIdentity(a, b connector.Identity) bool {
	return a.UserID == b.UserID && a.Username == b.Username && a.PreferredUsername == b.PreferredUsername &&
		a.Email == b.Email && a.EmailVerified == b.EmailVerified && slices.Equal(a.Groups, b.Groups) &&
		bytes.Equal(a.ConnectorData, b.ConnectorData)
}

func TestDiscovery(t *testing.T) {
	t.Run("down, then back without a restart", func(t *testing.T) {
		op := newFakeOP(t)
		c := newConn(t, op, nil)
		now := time.Now()
		c.SetClock(func() time.Time { return now })
		op.set(func(op *fakeOP) { op.down = true })
		if _, _, err := c.LoginURL(context.Background(), connector.Scopes{}, callback, "st"); !errors.Is(err, connector.ErrUnavailable) {
			t.Fatalf("provider down: err = %v, want ErrUnavailable", err)
		}
		// Within the retry pause the provider is not asked again.
		if _, _, err := c.LoginURL(context.Background(), connector.Scopes{}, callback, "st"); !errors.Is(err, connector.ErrUnavailable) || op.count("discovery") != 1 {
			t.Fatalf("second try: err = %v, discovery calls %d, want 1", err, op.count("discovery"))
		}
		op.set(func(op *fakeOP) { op.down = false })
		now = now.Add(discoveryRetry + time.Second)
		if _, err := login(t, c, op, connector.Scopes{}, nil, nil); err != nil {
			t.Fatalf("provider back: %v", err)
		}
		// Cached: a second login reads neither discovery nor keys again.
		d, k := op.count("discovery"), op.count("keys")
		if _, err := login(t, c, op, connector.Scopes{}, nil, nil); err != nil {
			t.Fatal(err)
		}
		if op.count("discovery") != d || op.count("keys") != k {
			t.Errorf("second login read discovery %d→%d, keys %d→%d times", d, op.count("discovery"), k, op.count("keys"))
		}
		// An old document is kept while the provider is down.
		now = now.Add(discoveryTTL + time.Second)
		op.set(func(op *fakeOP) { op.down = true })
		if _, _, err := c.LoginURL(context.Background(), connector.Scopes{}, callback, "st"); err != nil {
			t.Errorf("refreshing the document while down: %v", err)
		}
	})
	t.Run("issuer mismatch and issuerAlias", func(t *testing.T) {
		op := newFakeOP(t)
		op.set(func(op *fakeOP) { op.issuer = "https://login.example/tenant/v2.0" })
		c := newConn(t, op, nil)
		if _, _, err := c.LoginURL(context.Background(), connector.Scopes{}, callback, "st"); loginMessage(err) != msgUpstreamError {
			t.Errorf("discovery names another issuer: err = %v", err)
		}
		c = newConn(t, op, func(c *Config) { c.IssuerAlias = "https://login.example/tenant/v2.0" })
		if _, err := login(t, c, op, connector.Scopes{}, map[string]any{"iss": "https://login.example/tenant/v2.0"}, nil); err != nil {
			t.Errorf("with issuerAlias: %v", err)
		}
		if _, err := login(t, c, op, connector.Scopes{}, nil, nil); loginMessage(err) != msgBadIDToken {
			t.Errorf("ID token with the fetch URL as iss under issuerAlias: err = %v", err)
		}
	})
	t.Run("overrides", func(t *testing.T) {
		op := newFakeOP(t)
		c := newConn(t, op, func(c *Config) {
			c.ProviderDiscoveryOverrides = DiscoveryOverrides{AuthURL: "https://elsewhere.example/auth"}
		})
		u, _, err := c.LoginURL(context.Background(), connector.Scopes{}, callback, "st")
		if err != nil || !strings.HasPrefix(u, "https://elsewhere.example/auth?") {
			t.Errorf("login URL %q, %v", u, err)
		}
	})
}
