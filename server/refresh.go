package server

import (
	"context"
	"time"

	"github.com/torii-idp/torii/server/oauth2"
	"github.com/torii-idp/torii/storage"
)

// refreshIssuer creates refresh tokens and computes their lifetimes from
// Dex's expiry.refreshTokens policy.
type refreshIssuer struct {
	store  storage.Storage
	policy RefreshExpiry
	now    func() time.Time
	// clients finds a client's own lifetimes (nil: global ones only).
	clients *clientLookup
}

// policyOf is the global policy with the client's own lifetimes.
func (ri *refreshIssuer) policyOf(c Client) RefreshExpiry {
	p := ri.policy
	if c.RefreshTokenLifetime > 0 {
		p.AbsoluteLifetime = c.RefreshTokenLifetime
	}
	if c.RefreshTokenValidIfNotUsedFor > 0 {
		p.ValidIfNotUsedFor = c.RefreshTokenValidIfNotUsedFor
	}
	return p
}

// policyFor is policyOf the client with this ID.
func (ri *refreshIssuer) policyFor(ctx context.Context, clientID string) (RefreshExpiry, error) {
	if ri.clients == nil {
		return ri.policy, nil
	}
	c, _, err := ri.clients.get(ctx, clientID)
	if err != nil {
		return RefreshExpiry{}, err
	}
	return ri.policyOf(c), nil
}

// rotatedRetention is how long a rotated token is remembered so that its
// replay can be detected and its family revoked, when no idle or absolute
// limit bounds the family sooner.
const rotatedRetention = 7 * 24 * time.Hour

// expiry is when a token last used at lastUsed in a family started at
// familyStart stops being valid (zero: never).
func expiryOf(p RefreshExpiry, familyStart, lastUsed time.Time) time.Time {
	var exp time.Time
	if d := p.AbsoluteLifetime; d > 0 {
		exp = familyStart.Add(d)
	}
	if d := p.ValidIfNotUsedFor; d > 0 {
		if idle := lastUsed.Add(d); exp.IsZero() || idle.Before(exp) {
			exp = idle
		}
	}
	return exp
}

// rotatedExpiry is how long a rotated row is kept: at least the reuse
// window, and long enough to catch a replay.
func rotatedExpiryOf(p RefreshExpiry, t storage.RefreshToken, now time.Time) time.Time {
	keep := now.Add(rotatedRetention)
	if exp := expiryOf(p, t.FamilyCreatedAt, now); !exp.IsZero() && exp.Before(keep) {
		keep = exp
	}
	if min := now.Add(p.ReuseInterval); keep.Before(min) {
		keep = min
	}
	return keep
}

// issue stores a new refresh token of family g.grantID and returns its value.
func (ri *refreshIssuer) issue(ctx context.Context, g grantInfo, connectorData []byte, familyStart time.Time) (string, error) {
	p, err := ri.policyFor(ctx, g.clientID)
	if err != nil {
		return "", err
	}
	tok, row := ri.build(p, g, connectorData, familyStart)
	if err := ri.store.CreateRefresh(ctx, row); err != nil {
		return "", err
	}
	return tok, nil
}

// build makes a new refresh token of family g.grantID: its value and the
// row to store (keyed by the value's hash), under the client's policy p.
func (ri *refreshIssuer) build(p RefreshExpiry, g grantInfo, connectorData []byte, familyStart time.Time) (string, storage.RefreshToken) {
	tok := newToken()
	return tok, ri.buildWith(tok, p, g, connectorData, familyStart)
}

// buildWith is build of a token whose value tok is already chosen (a
// successor derived from the token it replaces).
func (ri *refreshIssuer) buildWith(tok string, p RefreshExpiry, g grantInfo, connectorData []byte, familyStart time.Time) storage.RefreshToken {
	now := ri.now()
	return storage.RefreshToken{
		ID:              hashToken(tok),
		FamilyID:        g.grantID,
		ClientID:        g.clientID,
		Scopes:          g.scopes,
		Nonce:           g.nonce,
		ConnectorID:     g.connectorID,
		ConnectorData:   connectorData,
		Claims:          g.claims,
		FamilyCreatedAt: familyStart,
		CreatedAt:       now,
		LastUsed:        now,
		Expiry:          expiryOf(p, familyStart, now),
		AuthTime:        g.authTime,
		SessionID:       g.sessionID,
	}
}

// mintWithRefresh mints gi's tokens and, when the person granted
// offline_access and the connector can refresh, a refresh token carrying
// the connector's data: the end of every grant that starts a login's
// tokens (code, device, password).
func mintWithRefresh(ctx context.Context, m *minter, ri *refreshIssuer, canRefresh bool, gi grantInfo, connectorData []byte, now time.Time) (*oauth2.TokenResponse, error) {
	resp, err := m.mint(ctx, gi)
	if err != nil {
		return nil, err
	}
	if gi.scopes.has(scopeOfflineAccess) && canRefresh {
		if resp.RefreshToken, err = ri.issue(ctx, gi, connectorData, now); err != nil {
			return nil, err
		}
	}
	return resp, nil
}
