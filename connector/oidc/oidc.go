package oidc

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/torii-idp/torii/connector"
	"github.com/torii-idp/torii/internal/secret"
)

// Connector logs people in at one upstream provider. Build it with Open.
type Connector struct {
	id   string
	cfg  Config
	log  *slog.Logger
	http *http.Client
	now  func() time.Time
	// observer is told the latency of every request to the provider (it may
	// be set again while requests run, on a config reload).
	observer atomic.Pointer[Observer]

	disc         discovery
	box          *secret.Box
	scopes       []string
	prompt       string
	authStyle    oauth2.AuthStyle
	groupsFilter *regexp.Regexp
}

var (
	_ connector.CallbackConnector      = (*Connector)(nil)
	_ connector.RefreshConnector       = (*Connector)(nil)
	_ connector.TokenIdentityConnector = (*Connector)(nil)
)

// Open validates cfg and builds the connector. It does not reach the
// provider: the discovery document is read at the first login (and again
// every hour), so torii starts while the provider is down and recovers when
// it is back. callbackURL is torii's issuer + "/callback".
func Open(id string, cfg Config, callbackURL string, logger *slog.Logger) (*Connector, error) {
	if err := cfg.Validate(callbackURL); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Connector{id: id, cfg: cfg, log: logger, now: time.Now}
	c.disc.c = c
	hc, err := newHTTPClient(cfg, c)
	if err != nil {
		return nil, err
	}
	c.http = hc
	// The upstream refresh token is sealed with a key derived from the
	// client secret, which lives only in the config; without a secret (a
	// public client) the key is derived from public values, so the token is
	// only obfuscated.
	keyMaterial := cfg.ClientSecret
	if keyMaterial == "" {
		keyMaterial = cfg.Issuer + "\x00" + cfg.ClientID
	}
	if c.box, err = secret.NewBox([]byte(keyMaterial), "oidc connector data "+id); err != nil {
		return nil, err
	}
	c.scopes = []string{gooidc.ScopeOpenID}
	if len(cfg.Scopes) > 0 {
		for _, s := range cfg.Scopes {
			if !slices.Contains(c.scopes, s) {
				c.scopes = append(c.scopes, s)
			}
		}
	} else {
		c.scopes = append(c.scopes, "profile", "email")
	}
	c.prompt = "consent"
	if cfg.PromptType != nil {
		c.prompt = *cfg.PromptType
	}
	c.authStyle = oauth2.AuthStyleInHeader
	if cfg.BasicAuthUnsupported != nil {
		if *cfg.BasicAuthUnsupported {
			c.authStyle = oauth2.AuthStyleInParams
		}
	} else if knownBasicAuthUnsupported(cfg.Issuer) {
		c.authStyle = oauth2.AuthStyleInParams
	}
	if f := cfg.ClaimModifications.FilterGroupClaims; f != nil {
		c.groupsFilter = regexp.MustCompile(f.GroupsFilter) // checked by Validate
	}
	if !cfg.ProviderDiscoveryOverrides.empty() {
		logger.Warn("providerDiscoveryOverrides are set: those endpoints are used instead of the provider's own")
	}
	return c, nil
}

// knownBasicAuthUnsupported is Dex's detection of providers that want the
// client secret in the body (Okta).
func knownBasicAuthUnsupported(issuer string) bool {
	u, err := url.Parse(issuer)
	if err != nil {
		return false
	}
	for _, d := range []string{"okta.com", "oktapreview.com"} {
		if u.Hostname() == d || strings.HasSuffix(u.Hostname(), "."+d) {
			return true
		}
	}
	return false
}

// SetObserver sets o.
func (c *Connector) SetObserver(o Observer) { c.observer.Store(&o) }

// SetClock replaces time.Now (tests).
func (c *Connector) SetClock(now func() time.Time) { c.now = now }

// loginState is kept by the server with the auth request between LoginURL
// and HandleCallback.
type loginState struct {
	Nonce    string `json:"n"`
	Verifier string `json:"v,omitempty"`
	Method   string `json:"m,omitempty"`
	Redirect string `json:"r"`
}

func randomString() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// LoginURL returns the provider's authorization URL with state, a nonce
// and, when the provider advertises S256 or pkceChallenge is set, a PKCE
// challenge.
func (c *Connector) LoginURL(ctx context.Context, s connector.Scopes, callbackURL, state string) (string, []byte, error) {
	redirect := callbackURL
	if c.cfg.RedirectURI != "" {
		if c.cfg.RedirectURI != callbackURL {
			return "", nil, fmt.Errorf("oidc: redirectURI %q is not torii's callback URL %q", c.cfg.RedirectURI, callbackURL)
		}
		redirect = c.cfg.RedirectURI
	}
	ep, err := c.disc.get(ctx)
	if err != nil {
		return "", nil, c.unavailable(ctx, "reading the provider's discovery document", err)
	}
	ls := loginState{Nonce: randomString(), Redirect: redirect}
	opts := []oauth2.AuthCodeOption{gooidc.Nonce(ls.Nonce)}
	switch {
	case c.cfg.PKCEChallenge == "plain":
		ls.Verifier, ls.Method = oauth2.GenerateVerifier(), "plain"
		opts = append(opts, oauth2.SetAuthURLParam("code_challenge", ls.Verifier), oauth2.SetAuthURLParam("code_challenge_method", "plain"))
	case c.cfg.PKCEChallenge == "S256" || ep.pkceS256:
		ls.Verifier, ls.Method = oauth2.GenerateVerifier(), "S256"
		opts = append(opts, oauth2.S256ChallengeOption(ls.Verifier))
	}
	if len(c.cfg.AcrValues) > 0 {
		opts = append(opts, oauth2.SetAuthURLParam("acr_values", strings.Join(c.cfg.AcrValues, " ")))
	}
	if hd := c.cfg.HostedDomains; len(hd) > 0 {
		hint := hd[0]
		if len(hd) > 1 {
			hint = "*"
		}
		opts = append(opts, oauth2.SetAuthURLParam("hd", hint))
	}
	if s.OfflineAccess {
		opts = append(opts, oauth2.AccessTypeOffline)
		if c.prompt != "" {
			opts = append(opts, oauth2.SetAuthURLParam("prompt", c.prompt))
		}
	}
	data, err := json.Marshal(ls)
	if err != nil {
		return "", nil, err
	}
	return c.oauth2Config(ep, redirect).AuthCodeURL(state, opts...), data, nil
}

func (c *Connector) oauth2Config(ep *endpoints, redirect string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     c.cfg.ClientID,
		ClientSecret: c.cfg.ClientSecret,
		RedirectURL:  redirect,
		Scopes:       c.scopes,
		Endpoint:     oauth2.Endpoint{AuthURL: ep.auth, TokenURL: ep.token, AuthStyle: c.authStyle},
	}
}

// HandleCallback redeems the code and checks the ID token (signature,
// issuer, audience, expiry and the nonce of this login).
func (c *Connector) HandleCallback(ctx context.Context, s connector.Scopes, loginData []byte, q url.Values) (connector.Identity, error) {
	if e := q.Get("error"); e != "" {
		c.log.WarnContext(ctx, "the provider answered the login with an error", "error", truncate(e), "error_description", truncate(q.Get("error_description")))
		if e == "access_denied" || e == "login_required" || e == "consent_required" || e == "interaction_required" {
			return connector.Identity{}, msgDenied.refusal()
		}
		return connector.Identity{}, msgUpstreamError.refusal()
	}
	var ls loginState
	if err := json.Unmarshal(loginData, &ls); err != nil || ls.Nonce == "" {
		return connector.Identity{}, c.refuse(ctx, msgUpstreamError, errors.New("the login state kept with the auth request is unreadable"))
	}
	code := q.Get("code")
	if code == "" {
		return connector.Identity{}, c.refuse(ctx, msgNoCode, errors.New("callback without code"))
	}
	ep, err := c.disc.get(ctx)
	if err != nil {
		return connector.Identity{}, c.unavailable(ctx, "reading the provider's discovery document", err)
	}
	var opts []oauth2.AuthCodeOption
	if ls.Verifier != "" {
		opts = append(opts, oauth2.VerifierOption(ls.Verifier))
	}
	tok, err := c.oauth2Config(ep, ls.Redirect).Exchange(c.clientCtx(ctx, OpToken), code, opts...)
	if err != nil {
		return connector.Identity{}, c.tokenError(ctx, "redeeming the authorization code", err, msgExchangeFailed)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return connector.Identity{}, c.refuse(ctx, msgBadIDToken, errors.New("the token response has no id_token"))
	}
	idt, err := c.verify(ctx, ep, ep.verifier, raw)
	if err != nil {
		return connector.Identity{}, err
	}
	if idt.Nonce != ls.Nonce {
		return connector.Identity{}, c.refuse(ctx, msgBadIDToken, errors.New("the ID token's nonce is not this login's"))
	}
	claims, err := c.claims(ctx, ep, idt, tok.AccessToken)
	if err != nil {
		return connector.Identity{}, err
	}
	id, err := c.identity(ctx, claims)
	if err != nil {
		return connector.Identity{}, err
	}
	id.ConnectorData = c.sealRefresh(tok.RefreshToken)
	return id, nil
}

// verify checks an ID token with v; a key set that cannot be fetched is
// ErrUnavailable, anything else a refusal.
func (c *Connector) verify(ctx context.Context, ep *endpoints, v *gooidc.IDTokenVerifier, raw string) (*gooidc.IDToken, error) {
	idt, err := v.Verify(gooidc.ClientContext(withOp(ctx, OpKeys), c.http), raw)
	if err != nil {
		if errors.Is(err, connector.ErrUnavailable) || strings.Contains(err.Error(), "fetching keys") {
			return nil, c.unavailable(ctx, "fetching the provider's keys", err)
		}
		return nil, c.refuse(ctx, msgBadIDToken, fmt.Errorf("ID token: %w", err))
	}
	return idt, nil
}

// claims are the ID token's claims, with the userinfo endpoint's over
// them when getUserInfo is set.
func (c *Connector) claims(ctx context.Context, ep *endpoints, idt *gooidc.IDToken, accessToken string) (map[string]any, error) {
	claims := map[string]any{}
	if idt != nil {
		if err := idt.Claims(&claims); err != nil {
			return nil, c.refuse(ctx, msgBadIDToken, fmt.Errorf("ID token claims: %w", err))
		}
	}
	if !c.cfg.GetUserInfo {
		return claims, nil
	}
	ui, err := c.userInfo(ctx, ep, accessToken)
	if err != nil {
		return nil, err
	}
	if idt != nil && ui["sub"] != idt.Subject {
		return nil, c.refuse(ctx, msgBadIDToken, errors.New("the userinfo endpoint names another sub than the ID token"))
	}
	for k, v := range ui {
		claims[k] = v
	}
	return claims, nil
}

// userInfo reads the userinfo endpoint with the access token.
func (c *Connector) userInfo(ctx context.Context, ep *endpoints, accessToken string) (map[string]any, error) {
	if ep.userInfo == "" {
		return nil, c.refuse(ctx, msgUpstreamError, errors.New("getUserInfo is set but the provider has no userinfo endpoint"))
	}
	if accessToken == "" {
		return nil, c.refuse(ctx, msgUpstreamError, errors.New("no access token for the userinfo endpoint"))
	}
	req, err := http.NewRequestWithContext(withOp(ctx, OpUserInfo), http.MethodGet, ep.userInfo, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.unavailable(ctx, "reading the userinfo endpoint", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 500 {
		return nil, c.unavailable(ctx, "reading the userinfo endpoint", errors.New(resp.Status))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, c.refuse(ctx, msgDenied, fmt.Errorf("the userinfo endpoint answered %s", resp.Status))
	}
	var ui map[string]any
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, maxBody)).Decode(&ui); err != nil {
		return nil, c.refuse(ctx, msgUpstreamError, fmt.Errorf("userinfo: %w (a signed userinfo response is not supported)", err))
	}
	if _, ok := ui["sub"].(string); !ok {
		return nil, c.refuse(ctx, msgMissingClaim, errors.New("userinfo without sub"))
	}
	return ui, nil
}

func (c *Connector) clientCtx(ctx context.Context, op string) context.Context {
	return context.WithValue(withOp(ctx, op), oauth2.HTTPClient, c.http)
}

// tokenError sorts a token endpoint failure: a refusal (4xx) is shown as
// msg, anything else means the provider is unavailable.
func (c *Connector) tokenError(ctx context.Context, what string, err error, msg message) error {
	if re, ok := refusal(err); ok {
		c.log.WarnContext(ctx, "the provider refused "+what, "status", re.Response.StatusCode, "error", truncate(re.ErrorCode), "error_description", truncate(re.ErrorDescription))
		return msg.refusal()
	}
	return c.unavailable(ctx, what, err)
}

// refusal reports whether err is a 4xx answer of the token endpoint.
func refusal(err error) (*oauth2.RetrieveError, bool) {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
		return re, true
	}
	return nil, false
}

func (c *Connector) refuse(ctx context.Context, msg message, cause error) error {
	c.log.WarnContext(ctx, "login through the provider refused", "reason", truncate(cause.Error()))
	return msg.refusal()
}

func (c *Connector) unavailable(ctx context.Context, what string, err error) error {
	if !errors.Is(err, connector.ErrUnavailable) && !errors.Is(err, context.DeadlineExceeded) {
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) && !isNetError(err) && !strings.Contains(err.Error(), "fetching keys") {
			// A configuration problem (an issuer mismatch): not worth
			// retrying, but nothing the person can fix either.
			c.log.ErrorContext(ctx, what+" failed", "err", truncate(err.Error()))
			return msgUpstreamError.refusal()
		}
	}
	c.log.WarnContext(ctx, what+" failed: the provider is unavailable", "err", truncate(err.Error()))
	return fmt.Errorf("%w: %s: %v", connector.ErrUnavailable, what, err)
}

func isNetError(err error) bool {
	var ue *url.Error
	return errors.As(err, &ue)
}

// truncate bounds provider-chosen text in log lines.
func truncate(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
