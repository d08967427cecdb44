package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/torii-idp/torii/server/internal/pkce"
	"github.com/torii-idp/torii/server/internal/redirecturi"
	"github.com/torii-idp/torii/server/oauth2"
	"github.com/torii-idp/torii/storage"
)

// codeGrant redeems authorization codes (RFC 6749 §4.1.3, RFC 7636).
type codeGrant struct {
	store   storage.Storage
	minter  *minter
	refresh *refreshIssuer
	// canRefresh reports whether the connector supports refresh tokens.
	canRefresh func(connectorID string) bool
	now        func() time.Time
	// revokeFor bounds how long a revoked grant is remembered (the longest
	// access-token lifetime).
	revokeFor time.Duration
}

// errCodeReplayed carries the grant a redeemed code produced.
type errCodeReplayed struct{ grantID string }

func (e *errCodeReplayed) Error() string { return "authorization code replayed" }

func (g *codeGrant) handle(ctx context.Context, r *http.Request, client Client) (*oauth2.TokenResponse, error) {
	code := r.PostForm.Get("code")
	if code == "" {
		return nil, oauth2.InvalidRequest("code is required")
	}
	redirectURI := r.PostForm.Get("redirect_uri")
	verifier := r.PostForm.Get("code_verifier")
	now := g.now()
	grantID := newToken()
	var redeemed storage.AuthCode
	err := g.store.UpdateAuthCode(ctx, hashToken(code), func(c storage.AuthCode) (storage.AuthCode, error) {
		if c.ClientID != client.ID {
			return c, oauth2.InvalidGrant("the code was issued to another client")
		}
		if c.Redeemed {
			return c, &errCodeReplayed{grantID: c.GrantID}
		}
		if now.After(c.Expiry) {
			return c, oauth2.InvalidGrant("the code has expired")
		}
		if !redirecturi.Equivalent(c.RedirectURI, redirectURI) {
			return c, oauth2.InvalidGrant("redirect_uri does not match the one used at the authorization endpoint")
		}
		if c.CodeChallenge == "" && verifier != "" {
			return c, oauth2.InvalidGrant("code_verifier sent but no code_challenge was used")
		}
		if c.CodeChallenge != "" {
			if verifier == "" {
				return c, oauth2.InvalidGrant("code_verifier is required")
			}
			if err := pkce.Verify(c.CodeChallengeMethod, c.CodeChallenge, verifier); err != nil {
				return c, oauth2.InvalidGrant("the code_verifier does not match the code_challenge")
			}
		}
		c.Redeemed = true
		c.GrantID = grantID
		redeemed = c
		return c, nil
	})
	var replay *errCodeReplayed
	switch {
	case errors.As(err, &replay):
		// RFC 6749 §4.1.2: revoke what the first redemption produced.
		if rerr := g.store.RevokeGrant(ctx, replay.grantID, now.Add(g.revokeFor)); rerr != nil {
			return nil, rerr
		}
		return nil, oauth2.InvalidGrant("the code has already been used; the tokens it produced are revoked")
	case errors.Is(err, storage.ErrNotFound):
		return nil, oauth2.InvalidGrant("the code is invalid or has expired")
	case err != nil:
		return nil, err
	}
	gi := grantInfo{
		clientID:    client.ID,
		scopes:      scopeSet(redeemed.Scopes),
		claims:      redeemed.Claims,
		connectorID: redeemed.ConnectorID,
		nonce:       redeemed.Nonce,
		authTime:    redeemed.AuthTime,
		grantID:     grantID,
		code:        code,
	}
	resp, err := g.minter.mint(ctx, gi)
	if err != nil {
		return nil, err
	}
	if gi.scopes.has(scopeOfflineAccess) && g.canRefresh(gi.connectorID) {
		resp.RefreshToken, err = g.refresh.issue(ctx, gi, redeemed.ConnectorData, now)
		if err != nil {
			return nil, err
		}
	}
	return resp, nil
}
