package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/torii-idp/torii/storage"
)

const (
	authCodeColumns = `id, client_id, redirect_uri, nonce, scopes, connector_id, connector_data, claims,
code_challenge, code_challenge_method, auth_time, expiry, redeemed, grant_id, session_id`

	insertAuthCode = `INSERT INTO auth_codes (` + authCodeColumns + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`

	updateAuthCode = `UPDATE auth_codes SET client_id = $2, redirect_uri = $3, nonce = $4, scopes = $5,
connector_id = $6, connector_data = $7, claims = $8, code_challenge = $9, code_challenge_method = $10,
auth_time = $11, expiry = $12, redeemed = $13, grant_id = $14, session_id = $15 WHERE id = $1`

	selectAuthCode = `SELECT ` + authCodeColumns + ` FROM auth_codes WHERE id = $1`
)

func authCodeArgs(id string, c storage.AuthCode) []any {
	return []any{id, c.ClientID, c.RedirectURI, c.Nonce, c.Scopes, c.ConnectorID, c.ConnectorData, c.Claims,
		c.CodeChallenge, c.CodeChallengeMethod, timeArg(c.AuthTime), timeArg(c.Expiry), c.Redeemed, c.GrantID, c.SessionID}
}

func scanAuthCode(row pgx.Row) (storage.AuthCode, error) {
	var c storage.AuthCode
	var authTime, expiry pgtype.Timestamptz
	err := row.Scan(&c.ID, &c.ClientID, &c.RedirectURI, &c.Nonce, &c.Scopes, &c.ConnectorID, &c.ConnectorData, &c.Claims,
		&c.CodeChallenge, &c.CodeChallengeMethod, &authTime, &expiry, &c.Redeemed, &c.GrantID, &c.SessionID)
	c.AuthTime, c.Expiry = fromTS(authTime), fromTS(expiry)
	return c, err
}

// CreateAuthCode stores a new authorization code.
func (s *Storage) CreateAuthCode(ctx context.Context, c storage.AuthCode) error {
	_, err := s.exec(ctx, "create auth code", insertAuthCode, authCodeArgs(c.ID, c)...)
	return err
}

// GetAuthCode returns the code with the given id (hash).
func (s *Storage) GetAuthCode(ctx context.Context, id string) (storage.AuthCode, error) {
	return get(ctx, s, "get auth code", scanAuthCode, selectAuthCode, id)
}

// UpdateAuthCode runs fn on the locked row and stores its result; two
// replicas redeeming the same code serialize, and the second sees Redeemed.
func (s *Storage) UpdateAuthCode(ctx context.Context, id string, fn func(storage.AuthCode) (storage.AuthCode, error)) error {
	return update(ctx, s, "update auth code", scanAuthCode, selectAuthCode+" FOR UPDATE", id, fn,
		func(c storage.AuthCode) (statement, error) {
			return statement{updateAuthCode, authCodeArgs(id, c)}, nil
		})
}

// DeleteAuthCode removes the code; an unknown id is ErrNotFound.
func (s *Storage) DeleteAuthCode(ctx context.Context, id string) error {
	return s.deleteByID(ctx, "delete auth code", "DELETE FROM auth_codes WHERE id = $1", id)
}
