package server

import (
	"context"
	"time"

	"github.com/torii-idp/torii/storage"
)

// refreshIssuer creates refresh tokens and computes their lifetimes from
// Dex's expiry.refreshTokens policy.
type refreshIssuer struct {
	store  storage.Storage
	policy RefreshExpiry
	now    func() time.Time
}

// rotatedRetention is how long a rotated token is remembered so that its
// replay can be detected and its family revoked, when no idle or absolute
// limit bounds the family sooner.
const rotatedRetention = 7 * 24 * time.Hour

// expiry is when a token last used at lastUsed in a family started at
// familyStart stops being valid (zero: never).
func (ri *refreshIssuer) expiry(familyStart, lastUsed time.Time) time.Time {
	var exp time.Time
	if d := ri.policy.AbsoluteLifetime; d > 0 {
		exp = familyStart.Add(d)
	}
	if d := ri.policy.ValidIfNotUsedFor; d > 0 {
		if idle := lastUsed.Add(d); exp.IsZero() || idle.Before(exp) {
			exp = idle
		}
	}
	return exp
}

// rotatedExpiry is how long a rotated row is kept: at least the reuse
// window, and long enough to catch a replay.
func (ri *refreshIssuer) rotatedExpiry(t storage.RefreshToken, now time.Time) time.Time {
	keep := now.Add(rotatedRetention)
	if exp := ri.expiry(t.FamilyCreatedAt, now); !exp.IsZero() && exp.Before(keep) {
		keep = exp
	}
	if min := now.Add(ri.policy.ReuseInterval); keep.Before(min) {
		keep = min
	}
	return keep
}

// issue stores a new refresh token of family g.grantID and returns its value.
func (ri *refreshIssuer) issue(ctx context.Context, g grantInfo, connectorData []byte, familyStart time.Time) (string, error) {
	tok, row := ri.build(g, connectorData, familyStart)
	if err := ri.store.CreateRefresh(ctx, row); err != nil {
		return "", err
	}
	return tok, nil
}

// build makes a new refresh token of family g.grantID: its value and the
// row to store (keyed by the value's hash).
func (ri *refreshIssuer) build(g grantInfo, connectorData []byte, familyStart time.Time) (string, storage.RefreshToken) {
	now := ri.now()
	tok := newToken()
	return tok, storage.RefreshToken{
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
		Expiry:          ri.expiry(familyStart, now),
		AuthTime:        g.authTime,
		SessionID:       g.sessionID,
	}
}
