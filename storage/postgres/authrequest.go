package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/torii-idp/torii/storage"
)

const (
	authRequestColumns = `id, client_id, response_types, scopes, redirect_uri, nonce, state,
code_challenge, code_challenge_method, force_approval, browser_hash, connector_id, logged_in,
claims, connector_data, auth_time, expiry, session_id, ui_locales`

	insertAuthRequest = `INSERT INTO auth_requests (` + authRequestColumns + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`

	updateAuthRequest = `UPDATE auth_requests SET client_id = $2, response_types = $3, scopes = $4,
redirect_uri = $5, nonce = $6, state = $7, code_challenge = $8, code_challenge_method = $9,
force_approval = $10, browser_hash = $11, connector_id = $12, logged_in = $13, claims = $14,
connector_data = $15, auth_time = $16, expiry = $17, session_id = $18, ui_locales = $19 WHERE id = $1`

	selectAuthRequest = `SELECT ` + authRequestColumns + ` FROM auth_requests WHERE id = $1`
)

func authRequestArgs(id string, a storage.AuthRequest) []any {
	return []any{id, a.ClientID, a.ResponseTypes, a.Scopes, a.RedirectURI, a.Nonce, a.State,
		a.CodeChallenge, a.CodeChallengeMethod, a.ForceApproval, a.BrowserHash, a.ConnectorID, a.LoggedIn,
		a.Claims, a.ConnectorData, timeArg(a.AuthTime), timeArg(a.Expiry), a.SessionID, a.UILocales}
}

func scanAuthRequest(row pgx.Row) (storage.AuthRequest, error) {
	var a storage.AuthRequest
	var authTime, expiry pgtype.Timestamptz
	err := row.Scan(&a.ID, &a.ClientID, &a.ResponseTypes, &a.Scopes, &a.RedirectURI, &a.Nonce, &a.State,
		&a.CodeChallenge, &a.CodeChallengeMethod, &a.ForceApproval, &a.BrowserHash, &a.ConnectorID, &a.LoggedIn,
		&a.Claims, &a.ConnectorData, &authTime, &expiry, &a.SessionID, &a.UILocales)
	a.AuthTime, a.Expiry = fromTS(authTime), fromTS(expiry)
	return a, err
}

// CreateAuthRequest stores a new auth request.
func (s *Storage) CreateAuthRequest(ctx context.Context, a storage.AuthRequest) error {
	_, err := s.exec(ctx, "create auth request", insertAuthRequest, authRequestArgs(a.ID, a)...)
	return err
}

// GetAuthRequest returns the auth request with the given id.
func (s *Storage) GetAuthRequest(ctx context.Context, id string) (storage.AuthRequest, error) {
	return get(ctx, s, "get auth request", scanAuthRequest, selectAuthRequest, id)
}

// UpdateAuthRequest runs fn on the locked row and stores its result.
func (s *Storage) UpdateAuthRequest(ctx context.Context, id string, fn func(storage.AuthRequest) (storage.AuthRequest, error)) error {
	return update(ctx, s, "update auth request", scanAuthRequest, selectAuthRequest+" FOR UPDATE", id, fn,
		func(a storage.AuthRequest) (statement, error) {
			return statement{updateAuthRequest, authRequestArgs(id, a)}, nil
		})
}

// DeleteAuthRequest removes the auth request; an unknown id is ErrNotFound.
func (s *Storage) DeleteAuthRequest(ctx context.Context, id string) error {
	return s.deleteByID(ctx, "delete auth request", "DELETE FROM auth_requests WHERE id = $1", id)
}

// deleteByID runs a single-row delete and maps "no row" to ErrNotFound.
func (s *Storage) deleteByID(ctx context.Context, op, sql, id string) error {
	n, err := s.exec(ctx, op, sql, id)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(op)
	}
	return nil
}
