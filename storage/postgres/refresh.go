package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/torii-idp/torii/storage"
)

const (
	refreshColumns = `id, family_id, client_id, scopes, nonce, connector_id, connector_data, claims,
family_created_at, created_at, last_used, rotated_at, expiry, session_id, auth_time, successor_seed`

	insertRefresh = `INSERT INTO refresh_tokens (` + refreshColumns + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`

	updateRefresh = `UPDATE refresh_tokens SET family_id = $2, client_id = $3, scopes = $4, nonce = $5,
connector_id = $6, connector_data = $7, claims = $8, family_created_at = $9, created_at = $10,
last_used = $11, rotated_at = $12, expiry = $13, session_id = $14, auth_time = $15,
successor_seed = $16 WHERE id = $1`

	selectRefresh = `SELECT ` + refreshColumns + ` FROM refresh_tokens WHERE id = $1`
)

func refreshArgs(id string, r storage.RefreshToken) []any {
	return []any{id, r.FamilyID, r.ClientID, r.Scopes, r.Nonce, r.ConnectorID, r.ConnectorData, r.Claims,
		timeArg(r.FamilyCreatedAt), timeArg(r.CreatedAt), timeArg(r.LastUsed), timeArg(r.RotatedAt), timeArg(r.Expiry), r.SessionID, timeArg(r.AuthTime),
		r.SuccessorSeed}
}

func scanRefresh(row pgx.Row) (storage.RefreshToken, error) {
	var r storage.RefreshToken
	var familyCreated, created, lastUsed, rotated, expiry, authTime pgtype.Timestamptz
	err := row.Scan(&r.ID, &r.FamilyID, &r.ClientID, &r.Scopes, &r.Nonce, &r.ConnectorID, &r.ConnectorData, &r.Claims,
		&familyCreated, &created, &lastUsed, &rotated, &expiry, &r.SessionID, &authTime, &r.SuccessorSeed)
	r.FamilyCreatedAt, r.CreatedAt, r.LastUsed = fromTS(familyCreated), fromTS(created), fromTS(lastUsed)
	r.RotatedAt, r.Expiry, r.AuthTime = fromTS(rotated), fromTS(expiry), fromTS(authTime)
	return r, err
}

// CreateRefresh stores a new refresh token.
func (s *Storage) CreateRefresh(ctx context.Context, r storage.RefreshToken) error {
	_, err := s.exec(ctx, "create refresh token", insertRefresh, refreshArgs(r.ID, r)...)
	return err
}

// GetRefresh returns the refresh token with the given id (hash).
func (s *Storage) GetRefresh(ctx context.Context, id string) (storage.RefreshToken, error) {
	return get(ctx, s, "get refresh token", scanRefresh, selectRefresh, id)
}

// UpdateRefresh runs fn on the locked row and stores its result. Two
// replicas refreshing the same token queue on the row lock; the second sees
// what the first wrote.
func (s *Storage) UpdateRefresh(ctx context.Context, id string, fn func(storage.RefreshToken) (storage.RefreshToken, error)) error {
	return update(ctx, s, "update refresh token", scanRefresh, selectRefresh+" FOR UPDATE", id, fn,
		func(r storage.RefreshToken) (statement, error) {
			return statement{updateRefresh, refreshArgs(id, r)}, nil
		})
}

// DeleteRefresh removes the refresh token; an unknown id is ErrNotFound.
func (s *Storage) DeleteRefresh(ctx context.Context, id string) error {
	return s.deleteByID(ctx, "delete refresh token", "DELETE FROM refresh_tokens WHERE id = $1", id)
}

// RevokeGrant deletes the family's refresh tokens and records the grant as
// revoked until `until`, in one statement (so atomically, in one round trip).
// Revoking again never shortens a revocation (NULL is forever).
func (s *Storage) RevokeGrant(ctx context.Context, grantID string, until time.Time) error {
	_, err := s.exec(ctx, "revoke grant", `WITH revoked AS (
    INSERT INTO revoked_grants (id, expiry) VALUES ($1, $2)
    ON CONFLICT (id) DO UPDATE SET expiry = CASE
        WHEN revoked_grants.expiry IS NULL OR excluded.expiry IS NULL THEN NULL
        ELSE greatest(revoked_grants.expiry, excluded.expiry) END)
DELETE FROM refresh_tokens WHERE family_id = $1`, grantID, timeArg(until))
	return err
}

// GrantRevoked reports whether the grant has a revocation record.
func (s *Storage) GrantRevoked(ctx context.Context, grantID string) (bool, error) {
	var revoked bool
	err := retry(ctx, func() error {
		return s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM revoked_grants WHERE id = $1)", grantID).Scan(&revoked)
	})
	return revoked, wrapErr(ctx, "grant revoked", err)
}

func notFound(op string) error { return fmt.Errorf("postgres: %s: %w", op, storage.ErrNotFound) }
