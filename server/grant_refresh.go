package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/connector"
	"github.com/torii-idp/torii/server/internal/subject"
	"github.com/torii-idp/torii/server/oauth2"
	"github.com/torii-idp/torii/storage"
)

// refreshGrant implements grant_type=refresh_token with rotation, Dex's
// reuse interval and family revocation on replay.
type refreshGrant struct {
	store      storage.Storage
	minter     *minter
	refresh    *refreshIssuer
	connectors map[string]Connector
	now        func() time.Time
	sleep      func(context.Context, time.Duration) error // Config.Sleep
	revokeFor  time.Duration
	log        *slog.Logger
	metrics    *Metrics
	audit      *audit.Logger
}

var errRefreshReplayed = errors.New("refresh token replayed")

func (g *refreshGrant) handle(ctx context.Context, r *http.Request, client Client) (*oauth2.TokenResponse, error) {
	raw := r.PostForm.Get("refresh_token")
	if raw == "" {
		return nil, oauth2.InvalidRequest("refresh_token is required")
	}
	// Both attempts judge the token at the time the request arrived: one
	// that waited for storage to come back (refresh_resolve.go) and then
	// found the token rotated by a concurrent request is as concurrent as
	// it was on arrival.
	now := g.now()
	resp, err := g.refreshOnce(ctx, r, client, raw, now)
	if errors.Is(err, errRotatedMeanwhile) {
		// Once more: the token is rotated now, and its successor, unused
		// yet, is this request's answer too.
		resp, err = g.refreshOnce(ctx, r, client, raw, now)
	}
	if errors.Is(err, errRotatedMeanwhile) {
		return nil, oauth2.TemporarilyUnavailable("the refresh token is being used by another request; try again")
	}
	return resp, err
}

func (g *refreshGrant) refreshOnce(ctx context.Context, r *http.Request, client Client, raw string, now time.Time) (*oauth2.TokenResponse, error) {
	id := hashToken(raw)
	tok, err := g.store.GetRefresh(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, oauth2.InvalidGrant("the refresh token is invalid or has been revoked")
	}
	if err != nil {
		return nil, err
	}
	rotate := !g.refresh.policy.DisableRotation
	// A token rotated inside the reuse interval whose successor was never
	// used: a retry or a race, answered with that successor
	// (refresh_successor.go).
	var resend string
	cur := tok
	if rotate && tok.ClientID == client.ID {
		v, succ, ok, err := g.unusedSuccessor(ctx, raw, tok, now)
		if err != nil {
			return nil, err
		}
		if ok {
			resend, cur = v, succ
		}
	}
	if err := g.check(cur, client, now); err != nil {
		return g.fail(ctx, tok, now, err)
	}
	scopes, err := narrowScopes(r.PostForm.Get("scope"), cur.Scopes)
	if err != nil {
		return nil, err
	}

	// Look the person up again (outside any transaction: it may be slow).
	claims, data, err := g.reload(ctx, cur)
	if errors.Is(err, connector.ErrUserGone) {
		return nil, g.userGone(ctx, cur, now)
	}
	if err != nil {
		return nil, err
	}

	gi := grantInfo{
		clientID:    client.ID,
		scopes:      scopes,
		claims:      claims,
		connectorID: cur.ConnectorID,
		nonce:       cur.Nonce,
		authTime:    cur.AuthTime,
		sessionID:   cur.SessionID,
		grantID:     cur.FamilyID,
		grantType:   grantRefreshToken,
	}
	resp, err := g.minter.mint(ctx, gi)
	if err != nil {
		return nil, err
	}
	if resend != "" {
		// Nothing is written: the successor stays unused, so the old token
		// keeps getting it until the reuse interval ends or the successor
		// is used.
		resp.RefreshToken = resend
		g.log.InfoContext(ctx, "rotated refresh token presented again before its successor was used; the same successor is sent",
			"client_id", client.ID, "connector_id", cur.ConnectorID)
		g.audit.Log(ctx, audit.Record{Event: audit.RefreshRotated, Subject: subject.Encode(claims.UserID, cur.ConnectorID),
			ConnectorID: cur.ConnectorID, ClientID: client.ID, Detail: "successor resent"})
		return resp, nil
	}
	// The first rotation of a token derives its successor from a new seed
	// (so a lost answer can be resolved); a token already rotated, used
	// again inside the reuse interval once its successor was used, gets a
	// sibling of random value as before.
	first := tok.RotatedAt.IsZero()
	var seed []byte
	if first {
		seed = newSuccessorSeed()
	}
	update := func(t storage.RefreshToken) (storage.RefreshToken, error) {
		if rotate && first && !t.RotatedAt.IsZero() {
			return t, errRotatedMeanwhile
		}
		if err := g.check(t, client, now); err != nil {
			return t, err
		}
		t.LastUsed = now
		t.Claims = claims
		t.ConnectorData = data
		if rotate {
			if t.RotatedAt.IsZero() {
				t.RotatedAt = now
				t.SuccessorSeed = seed
			}
			t.Expiry = rotatedExpiryOf(g.refresh.policyOf(client), t, now)
		} else {
			t.Expiry = expiryOf(g.refresh.policyOf(client), t.FamilyCreatedAt, now)
		}
		return t, nil
	}
	if rotate {
		// The new token and the old one's rotation are one write (see
		// storage.RotateRefresh for backends that need two): a family
		// revoked meanwhile takes both, a failure leaves the old token
		// untouched so the client's retry is not taken for a replay. The
		// new token keeps the family's original scopes, so a narrowed
		// request does not shrink later refreshes.
		full := gi
		full.scopes = tok.Scopes
		p := g.refresh.policyOf(client)
		var next storage.RefreshToken
		if first {
			resp.RefreshToken = successorValue(raw, seed)
			next = g.refresh.buildWith(resp.RefreshToken, p, full, data, tok.FamilyCreatedAt)
		} else {
			resp.RefreshToken, next = g.refresh.build(p, full, data, tok.FamilyCreatedAt)
		}
		err = storage.RotateRefresh(ctx, g.store, id, next, update)
		if err != nil && first && storage.OutcomeUnknown(ctx, err) {
			// The write may be stored though its answer was lost: find
			// out before answering (refresh_resolve.go).
			err = g.resolveLost(ctx, lostRotation{id: id, next: next, seed: seed, update: update, client: client}, err)
		}
		if err != nil {
			resp.RefreshToken = ""
		}
	} else {
		err = g.store.UpdateRefresh(ctx, id, update)
	}
	if errors.Is(err, storage.ErrNotFound) {
		return nil, oauth2.InvalidGrant("the refresh token is invalid or has been revoked")
	}
	if errors.Is(err, errRotatedMeanwhile) {
		return nil, err
	}
	if err != nil {
		return g.fail(ctx, tok, now, err)
	}
	if rotate {
		g.audit.Log(ctx, audit.Record{Event: audit.RefreshRotated, Subject: subject.Encode(claims.UserID, tok.ConnectorID),
			ConnectorID: tok.ConnectorID, ClientID: client.ID})
	}
	return resp, nil
}

// check validates a stored token for this use; it runs again inside the
// atomic update so concurrent uses see one decision.
func (g *refreshGrant) check(t storage.RefreshToken, client Client, now time.Time) error {
	if t.ClientID != client.ID {
		return oauth2.InvalidGrant("the refresh token was issued to another client")
	}
	if !t.RotatedAt.IsZero() && now.Sub(t.RotatedAt) > g.refresh.policy.ReuseInterval {
		return errRefreshReplayed
	}
	p := g.refresh.policyOf(client)
	if p.AbsoluteLifetime > 0 && now.Sub(t.FamilyCreatedAt) > p.AbsoluteLifetime {
		return oauth2.InvalidGrant("the refresh token has expired")
	}
	if p.ValidIfNotUsedFor > 0 && t.RotatedAt.IsZero() && now.Sub(t.LastUsed) > p.ValidIfNotUsedFor {
		return oauth2.InvalidGrant("the refresh token has expired (unused for too long)")
	}
	return nil
}

// fail turns a replay into a revocation of the whole family.
func (g *refreshGrant) fail(ctx context.Context, t storage.RefreshToken, now time.Time, err error) (*oauth2.TokenResponse, error) {
	if !errors.Is(err, errRefreshReplayed) {
		return nil, err
	}
	g.log.WarnContext(ctx, "refresh token replayed outside the reuse interval; revoking its family",
		"client_id", t.ClientID, "connector_id", t.ConnectorID, "user_id", t.Claims.UserID)
	rec := audit.Record{Subject: subject.Encode(t.Claims.UserID, t.ConnectorID), ConnectorID: t.ConnectorID, ClientID: t.ClientID}
	rec.Event, rec.Result = audit.RefreshReplayed, audit.ResultDenied
	g.audit.Log(ctx, rec)
	if rerr := g.store.RevokeGrant(ctx, t.FamilyID, now.Add(g.revokeFor)); rerr != nil {
		g.metrics.refreshReplayed(false)
		rec.Event, rec.Result, rec.Reason = audit.FamilyRevoked, audit.ResultError, "revoking the family failed"
		g.audit.Log(ctx, rec)
		return nil, rerr
	}
	g.metrics.refreshReplayed(true)
	rec.Event, rec.Result = audit.FamilyRevoked, audit.ResultOK
	g.audit.Log(ctx, rec)
	return nil, oauth2.InvalidGrant("the refresh token has already been used; its token family is revoked")
}

// reload asks the connector for fresh claims; connectors without refresh
// support keep the claims from the login.
func (g *refreshGrant) reload(ctx context.Context, t storage.RefreshToken) (storage.Claims, []byte, error) {
	conn, ok := g.connectors[t.ConnectorID]
	if !ok {
		return storage.Claims{}, nil, oauth2.InvalidGrant("the connector of this refresh token no longer exists")
	}
	if conn.Refresh == nil {
		return t.Claims, t.ConnectorData, nil
	}
	ident, err := conn.Refresh.Refresh(ctx, scopeSet(t.Scopes).connectorScopes(), identityFromClaims(t.Claims, t.ConnectorData))
	if errors.Is(err, connector.ErrUserGone) {
		return storage.Claims{}, nil, err
	}
	if errors.Is(err, connector.ErrUnavailable) {
		// The token stays valid: the client retries once the upstream is back.
		return storage.Claims{}, nil, errors.Join(oauth2.TemporarilyUnavailable("the identity provider did not answer; try again in a moment"), err)
	}
	if err != nil {
		return storage.Claims{}, nil, fmt.Errorf("connector %s refresh: %w", t.ConnectorID, err)
	}
	return claimsFromIdentity(ident), ident.ConnectorData, nil
}

// userGone ends the family of a token whose connector (a directory, an
// upstream provider) says the person may no longer log in: every refresh
// token of the login and the access tokens carrying its grant stop working.
func (g *refreshGrant) userGone(ctx context.Context, t storage.RefreshToken, now time.Time) error {
	rec := audit.Record{Event: audit.FamilyRevoked, Subject: subject.Encode(t.Claims.UserID, t.ConnectorID), ConnectorID: t.ConnectorID,
		ClientID: t.ClientID, Reason: "the connector refused the refresh"}
	if err := g.store.RevokeGrant(ctx, t.FamilyID, now.Add(g.revokeFor)); err != nil {
		rec.Result = audit.ResultError
		g.audit.Log(ctx, rec)
		return err
	}
	g.audit.Log(ctx, rec)
	return oauth2.InvalidGrant("the user may no longer log in")
}

// narrowScopes allows a refresh to ask for a subset of the granted scopes.
func narrowScopes(raw string, granted []string) (scopeSet, error) {
	if strings.TrimSpace(raw) == "" {
		return scopeSet(granted), nil
	}
	var out scopeSet
	for _, s := range strings.Fields(raw) {
		if !scopeSet(granted).has(s) {
			return nil, oauth2.InvalidScope(fmt.Sprintf("scope %q was not granted to this refresh token", s))
		}
		if !out.has(s) {
			out = append(out, s)
		}
	}
	return out, nil
}

func identityFromClaims(c storage.Claims, data []byte) connector.Identity {
	return connector.Identity{
		UserID: c.UserID, Username: c.Username, PreferredUsername: c.PreferredUsername,
		Email: c.Email, EmailVerified: c.EmailVerified, Groups: c.Groups, ConnectorData: data,
	}
}

func claimsFromIdentity(i connector.Identity) storage.Claims {
	return storage.Claims{
		UserID: i.UserID, Username: i.Username, PreferredUsername: i.PreferredUsername,
		Email: i.Email, EmailVerified: i.EmailVerified, Groups: i.Groups,
	}
}
