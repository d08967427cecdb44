package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/server/internal/pkce"
	"github.com/torii-idp/torii/server/internal/redirecturi"
	"github.com/torii-idp/torii/server/internal/subject"
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
	log       *slog.Logger
	metrics   *Metrics
	audit     *audit.Logger
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
	id := hashToken(code)

	// Check and mint first, and store the refresh token before the code is
	// marked redeemed: a concurrent replay that loses the race then finds
	// everything the winner produced already stored, and revokes it.
	c, err := g.store.GetAuthCode(ctx, id)
	if err == nil {
		err = g.check(c, client, now, redirectURI, verifier)
	}
	if err != nil {
		return g.fail(ctx, now, err)
	}
	gi := grantInfo{
		clientID:    client.ID,
		scopes:      scopeSet(c.Scopes),
		claims:      c.Claims,
		connectorID: c.ConnectorID,
		nonce:       c.Nonce,
		authTime:    c.AuthTime,
		sessionID:   c.SessionID,
		grantID:     newToken(),
		code:        code,
		grantType:   grantAuthorizationCode,
	}
	resp, err := mintWithRefresh(ctx, g.minter, g.refresh, g.canRefresh(gi.connectorID), gi, c.ConnectorData, now)
	if err != nil {
		return nil, err
	}
	err = g.store.UpdateAuthCode(ctx, id, func(c storage.AuthCode) (storage.AuthCode, error) {
		if err := g.check(c, client, now, redirectURI, verifier); err != nil {
			return c, err
		}
		c.Redeemed = true
		c.GrantID = gi.grantID
		return c, nil
	})
	if err != nil {
		if resp.RefreshToken != "" {
			// Never handed out; only its hash is stored, so a failed delete
			// leaves an unreachable row for the garbage collector.
			if derr := g.store.DeleteRefresh(ctx, hashToken(resp.RefreshToken)); derr != nil && !errors.Is(derr, storage.ErrNotFound) {
				g.log.WarnContext(ctx, "could not delete an unused refresh token", "err", derr)
			}
		}
		return g.fail(ctx, now, err)
	}
	g.audit.Log(ctx, audit.Record{Event: audit.CodeRedeemed, Subject: subject.Encode(c.Claims.UserID, c.ConnectorID),
		ConnectorID: c.ConnectorID, ClientID: client.ID})
	return resp, nil
}

// check validates a code for this request; it runs before minting and
// again inside the atomic redemption.
func (g *codeGrant) check(c storage.AuthCode, client Client, now time.Time, redirectURI, verifier string) error {
	if c.ClientID != client.ID {
		return oauth2.InvalidGrant("the code was issued to another client")
	}
	if c.Redeemed {
		return &errCodeReplayed{grantID: c.GrantID}
	}
	if now.After(c.Expiry) {
		return oauth2.InvalidGrant("the code has expired")
	}
	if !redirecturi.Equivalent(c.RedirectURI, redirectURI) {
		return oauth2.InvalidGrant("redirect_uri does not match the one used at the authorization endpoint")
	}
	if c.CodeChallenge == "" && verifier != "" {
		return oauth2.InvalidGrant("code_verifier sent but no code_challenge was used")
	}
	if c.CodeChallenge != "" {
		if verifier == "" {
			return oauth2.InvalidGrant("code_verifier is required")
		}
		if err := pkce.Verify(c.CodeChallengeMethod, c.CodeChallenge, verifier); err != nil {
			return oauth2.InvalidGrant("the code_verifier does not match the code_challenge")
		}
	}
	return nil
}

// fail maps a failed redemption; a replay revokes what the first
// redemption produced (RFC 6749 §4.1.2).
func (g *codeGrant) fail(ctx context.Context, now time.Time, err error) (*oauth2.TokenResponse, error) {
	var replay *errCodeReplayed
	switch {
	case errors.As(err, &replay):
		g.metrics.codeReplayed()
		if replay.grantID != "" {
			if rerr := g.store.RevokeGrant(ctx, replay.grantID, now.Add(g.revokeFor)); rerr != nil {
				g.audit.Log(ctx, audit.Record{Event: audit.CodeReplayed, Result: audit.ResultError, Reason: "revoking the grant failed"})
				return nil, rerr
			}
		}
		g.audit.Log(ctx, audit.Record{Event: audit.CodeReplayed, Result: audit.ResultDenied, Reason: "grant revoked"})
		g.log.WarnContext(ctx, "authorization code replayed; revoking the tokens it produced")
		return nil, oauth2.InvalidGrant("the code has already been used; the tokens it produced are revoked")
	case errors.Is(err, storage.ErrNotFound):
		return nil, oauth2.InvalidGrant("the code is invalid or has expired")
	}
	return nil, err
}
