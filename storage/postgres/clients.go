package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/torii-idp/torii/storage"
)

const (
	clientColumns = `id, secret_hash, redirect_uris, trusted_peers, public, name, logo_url,
post_logout_redirect_uris, backchannel_logout_uri, backchannel_logout_session_required`
	insertClient = `INSERT INTO clients (` + clientColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`
	updateClient = `UPDATE clients SET secret_hash = $2, redirect_uris = $3, trusted_peers = $4, public = $5,
name = $6, logo_url = $7, post_logout_redirect_uris = $8, backchannel_logout_uri = $9,
backchannel_logout_session_required = $10 WHERE id = $1`
	selectClient = `SELECT ` + clientColumns + ` FROM clients`

	passwordColumns = `id, email, hash, username, user_id`
	insertPassword  = `INSERT INTO passwords (` + passwordColumns + `) VALUES ($1, $2, $3, $4, $5)`
	updatePassword  = `UPDATE passwords SET email = $2, hash = $3, username = $4, user_id = $5 WHERE id = $1`
	selectPassword  = `SELECT ` + passwordColumns + ` FROM passwords`
)

func clientArgs(id string, c storage.Client) []any {
	return []any{id, c.SecretHash, c.RedirectURIs, c.TrustedPeers, c.Public, c.Name, c.LogoURL,
		c.PostLogoutRedirectURIs, c.BackchannelLogoutURI, c.BackchannelLogoutSessionRequired}
}

func scanClient(row pgx.Row) (storage.Client, error) {
	var c storage.Client
	err := row.Scan(&c.ID, &c.SecretHash, &c.RedirectURIs, &c.TrustedPeers, &c.Public, &c.Name, &c.LogoURL,
		&c.PostLogoutRedirectURIs, &c.BackchannelLogoutURI, &c.BackchannelLogoutSessionRequired)
	return c, err
}

func passwordArgs(key string, p storage.Password) []any {
	return []any{key, key, p.Hash, p.Username, p.UserID}
}

func scanPassword(row pgx.Row) (storage.Password, error) {
	var p storage.Password
	var key string
	err := row.Scan(&key, &p.Email, &p.Hash, &p.Username, &p.UserID)
	return p, err
}

// CreateClient stores a new client; a taken id is storage.ErrAlreadyExists.
func (s *Storage) CreateClient(ctx context.Context, c storage.Client) error {
	_, err := s.exec(ctx, "create client", insertClient, clientArgs(c.ID, c)...)
	return err
}

// GetClient returns the client with the given id.
func (s *Storage) GetClient(ctx context.Context, id string) (storage.Client, error) {
	return get(ctx, s, "get client", scanClient, selectClient+" WHERE id = $1", id)
}

// UpdateClient runs fn on the locked row and stores its result.
func (s *Storage) UpdateClient(ctx context.Context, id string, fn func(storage.Client) (storage.Client, error)) error {
	return update(ctx, s, "update client", scanClient, selectClient+" WHERE id = $1 FOR UPDATE", id, fn,
		func(c storage.Client) (statement, error) {
			return statement{updateClient, clientArgs(id, c)}, nil
		})
}

// DeleteClient removes the client; an unknown id is ErrNotFound.
func (s *Storage) DeleteClient(ctx context.Context, id string) error {
	return s.deleteByID(ctx, "delete client", "DELETE FROM clients WHERE id = $1", id)
}

// ListClients returns every client, by id.
func (s *Storage) ListClients(ctx context.Context) ([]storage.Client, error) {
	return list(ctx, s, "list clients", scanClient, selectClient+" ORDER BY id")
}

// CreatePassword stores p under its lower-cased email.
func (s *Storage) CreatePassword(ctx context.Context, p storage.Password) error {
	_, err := s.exec(ctx, "create password", insertPassword, passwordArgs(storage.PasswordKey(p.Email), p)...)
	return err
}

// GetPassword returns the password stored for email (any case).
func (s *Storage) GetPassword(ctx context.Context, email string) (storage.Password, error) {
	return get(ctx, s, "get password", scanPassword, selectPassword+" WHERE id = $1", storage.PasswordKey(email))
}

// UpdatePassword runs fn on the locked row; the password keeps its email.
func (s *Storage) UpdatePassword(ctx context.Context, email string, fn func(storage.Password) (storage.Password, error)) error {
	key := storage.PasswordKey(email)
	return update(ctx, s, "update password", scanPassword, selectPassword+" WHERE id = $1 FOR UPDATE", key, fn,
		func(p storage.Password) (statement, error) {
			return statement{updatePassword, passwordArgs(key, p)}, nil
		})
}

// DeletePassword removes the password stored for email (any case).
func (s *Storage) DeletePassword(ctx context.Context, email string) error {
	return s.deleteByID(ctx, "delete password", "DELETE FROM passwords WHERE id = $1", storage.PasswordKey(email))
}

// ListPasswords returns every password, by email.
func (s *Storage) ListPasswords(ctx context.Context) ([]storage.Password, error) {
	return list(ctx, s, "list passwords", scanPassword, selectPassword+" ORDER BY id")
}

// ListUserRefresh returns the user's current refresh tokens (the index
// refresh_tokens_user covers the lookup).
func (s *Storage) ListUserRefresh(ctx context.Context, userID, connectorID string) ([]storage.RefreshToken, error) {
	return list(ctx, s, "list user refresh tokens", scanRefresh, `SELECT `+refreshColumns+` FROM refresh_tokens
WHERE connector_id = $1 AND claims->>'user_id' = $2 AND rotated_at IS NULL ORDER BY family_id, id`, connectorID, userID)
}

// list runs a query and scans every row; a failed attempt is retried whole.
func list[T any](ctx context.Context, s *Storage, op string, scan func(pgx.Row) (T, error), sql string, args ...any) ([]T, error) {
	var out []T
	err := retry(ctx, func() error {
		out = nil
		rows, err := s.pool.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return rows.Err()
	})
	return out, wrapErr(ctx, op, err)
}
