package oidc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/torii-idp/torii/connector"
)

// RFC 8693 token types a connector can vouch for.
const (
	TokenTypeIDToken     = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
)

// TokenIdentity checks a token the provider issued, for token exchange.
// An ID token must be validly signed by the provider, unexpired, and issued
// to clientID or one of trustedAudiences (Dex accepts any audience). An
// access token is checked by the userinfo endpoint (getUserInfo); when it is
// a JWT with an aud claim, that aud must name clientID or a trusted
// audience too.
func (c *Connector) TokenIdentity(ctx context.Context, tokenType, token string) (connector.Identity, error) {
	ep, err := c.disc.get(ctx)
	if err != nil {
		return connector.Identity{}, c.unavailable(ctx, "reading the provider's discovery document", err)
	}
	var claims map[string]any
	switch tokenType {
	case TokenTypeIDToken:
		v := gooidc.NewVerifier(ep.issuer, ep.keys, &gooidc.Config{SkipClientIDCheck: true, SupportedSigningAlgs: ep.algs, Now: c.now})
		idt, err := c.verify(ctx, ep, v, token)
		if err != nil {
			return connector.Identity{}, err
		}
		if !c.trustedAudience(idt.Audience) {
			return connector.Identity{}, c.refuse(ctx, msgExchangeAudience, errors.New("token exchange: the ID token's aud names neither clientID nor trustedAudiences"))
		}
		// The ID token's own claims: the userinfo endpoint would need an
		// access token, which an ID token is not.
		claims = map[string]any{}
		if err := idt.Claims(&claims); err != nil {
			return connector.Identity{}, c.refuse(ctx, msgBadIDToken, err)
		}
	case TokenTypeAccessToken:
		if !c.cfg.GetUserInfo {
			return connector.Identity{}, c.refuse(ctx, msgExchangeIDTokensOnly, errors.New("token exchange: access token without getUserInfo"))
		}
		if aud, ok := jwtAudience(token); ok && !c.trustedAudience(aud) {
			return connector.Identity{}, c.refuse(ctx, msgExchangeAudience, errors.New("token exchange: the access token's aud names neither clientID nor trustedAudiences"))
		}
		if claims, err = c.userInfo(ctx, ep, token); err != nil {
			return connector.Identity{}, err
		}
	default:
		return connector.Identity{}, &connector.LoginError{Message: "unsupported subject_token_type"}
	}
	return c.identity(ctx, claims)
}

func (c *Connector) trustedAudience(aud []string) bool {
	for _, a := range aud {
		if a == c.cfg.ClientID || slices.Contains(c.cfg.TrustedAudiences, a) {
			return true
		}
	}
	return false
}

// jwtAudience reads the aud of a JWT-shaped token without checking it (the
// userinfo endpoint is what vouches for an access token).
func jwtAudience(tok string) ([]string, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, false
	}
	var p struct {
		Aud any `json:"aud"`
	}
	if json.Unmarshal(b, &p) != nil {
		return nil, false
	}
	switch a := p.Aud.(type) {
	case string:
		return []string{a}, true
	case []any:
		var out []string
		for _, v := range a {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
		return out, true
	}
	return nil, false
}
