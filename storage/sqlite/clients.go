package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/torii-idp/torii/storage"
)

var (
	clientColumns   = []string{"id", "secret_hash", "redirect_uris", "trusted_peers", "public", "name", "logo_url", "post_logout_redirect_uris", "backchannel_logout_uri", "backchannel_logout_session_required"}
	passwordColumns = []string{"id", "email", "hash", "username", "user_id"}
)

func clientArgs(c storage.Client) ([]any, error) {
	redirects, err := jsonValue(c.RedirectURIs)
	if err != nil {
		return nil, err
	}
	peers, err := jsonValue(c.TrustedPeers)
	if err != nil {
		return nil, err
	}
	postLogout, err := jsonValue(c.PostLogoutRedirectURIs)
	if err != nil {
		return nil, err
	}
	return []any{c.ID, blobValue(c.SecretHash), redirects, peers, c.Public, c.Name, c.LogoURL,
		postLogout, c.BackchannelLogoutURI, c.BackchannelLogoutSessionRequired}, nil
}

func scanClient(row rowScanner) (storage.Client, error) {
	var c storage.Client
	var redirects, peers, postLogout string
	if err := row.Scan(&c.ID, &c.SecretHash, &redirects, &peers, &c.Public, &c.Name, &c.LogoURL,
		&postLogout, &c.BackchannelLogoutURI, &c.BackchannelLogoutSessionRequired); err != nil {
		return storage.Client{}, err
	}
	if err := decodeAll(redirects, &c.RedirectURIs, peers, &c.TrustedPeers, postLogout, &c.PostLogoutRedirectURIs); err != nil {
		return storage.Client{}, err
	}
	return c, nil
}

func passwordArgs(p storage.Password) ([]any, error) {
	key := storage.PasswordKey(p.Email)
	return []any{key, key, p.Hash, p.Username, p.UserID}, nil
}

func scanPassword(row rowScanner) (storage.Password, error) {
	var p storage.Password
	var key string
	err := row.Scan(&key, &p.Email, &p.Hash, &p.Username, &p.UserID)
	return p, err
}

// CreateClient stores c; storage.ErrAlreadyExists if the id is taken.
func (s *Storage) CreateClient(ctx context.Context, c storage.Client) error {
	return s.kinds.clients.create(ctx, s, c)
}

// GetClient returns the client or storage.ErrNotFound.
func (s *Storage) GetClient(ctx context.Context, id string) (storage.Client, error) {
	return s.kinds.clients.get(ctx, id)
}

// UpdateClient runs update on the stored client in one transaction.
func (s *Storage) UpdateClient(ctx context.Context, id string, update func(storage.Client) (storage.Client, error)) error {
	return s.kinds.clients.update(ctx, s, id, update)
}

// DeleteClient removes the client or reports storage.ErrNotFound.
func (s *Storage) DeleteClient(ctx context.Context, id string) error {
	return s.kinds.clients.delete(ctx, s, id)
}

// ListClients returns every client, by id.
func (s *Storage) ListClients(ctx context.Context) ([]storage.Client, error) {
	return listRows(ctx, s, "clients", "SELECT "+strings.Join(clientColumns, ", ")+" FROM clients ORDER BY id", scanClient)
}

// CreatePassword stores p under its lower-cased email.
func (s *Storage) CreatePassword(ctx context.Context, p storage.Password) error {
	return s.kinds.passwords.create(ctx, s, p)
}

// GetPassword returns the password stored for email (any case).
func (s *Storage) GetPassword(ctx context.Context, email string) (storage.Password, error) {
	return s.kinds.passwords.get(ctx, storage.PasswordKey(email))
}

// UpdatePassword runs update on the stored password; it keeps its email.
func (s *Storage) UpdatePassword(ctx context.Context, email string, update func(storage.Password) (storage.Password, error)) error {
	key := storage.PasswordKey(email)
	return s.kinds.passwords.update(ctx, s, key, func(p storage.Password) (storage.Password, error) {
		p, err := update(p)
		p.Email = key
		return p, err
	})
}

// DeletePassword removes the password stored for email (any case).
func (s *Storage) DeletePassword(ctx context.Context, email string) error {
	return s.kinds.passwords.delete(ctx, s, storage.PasswordKey(email))
}

// ListPasswords returns every password, by email.
func (s *Storage) ListPasswords(ctx context.Context) ([]storage.Password, error) {
	return listRows(ctx, s, "passwords", "SELECT "+strings.Join(passwordColumns, ", ")+" FROM passwords ORDER BY id", scanPassword)
}

// ListUserRefresh returns the user's current refresh tokens (the index
// refresh_tokens_user covers the lookup).
func (s *Storage) ListUserRefresh(ctx context.Context, userID, connectorID string) ([]storage.RefreshToken, error) {
	q := strings.TrimSuffix(s.kinds.refresh.selectSQL, " WHERE id = ?") + `
WHERE connector_id = ? AND json_extract(claims, '$.user_id') = ? AND rotated_at IS NULL
ORDER BY family_id, id`
	return listRows(ctx, s, "refresh_tokens", q, scanRefresh, connectorID, userID)
}

// listRows runs a query on the reader pool and scans every row.
func listRows[T any](ctx context.Context, s *Storage, table, q string, scan func(rowScanner) (T, error), args ...any) ([]T, error) {
	rows, err := s.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list %s: %w", table, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list %s: %w", table, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list %s: %w", table, err)
	}
	return out, nil
}
