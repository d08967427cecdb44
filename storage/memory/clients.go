package memory

import (
	"cmp"
	"context"
	"maps"
	"slices"

	"github.com/torii-idp/torii/storage"
)

func copyClient(c storage.Client) storage.Client {
	c.SecretHash = slices.Clone(c.SecretHash)
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.TrustedPeers = slices.Clone(c.TrustedPeers)
	c.PostLogoutRedirectURIs = slices.Clone(c.PostLogoutRedirectURIs)
	return c
}

func copyPassword(p storage.Password) storage.Password {
	p.Hash = slices.Clone(p.Hash)
	return p
}

// CreateClient stores a copy of c.
func (s *Storage) CreateClient(ctx context.Context, c storage.Client) error {
	return create(ctx, s, s.clients, c.ID, copyClient(c))
}

// GetClient returns a copy of the stored client.
func (s *Storage) GetClient(ctx context.Context, id string) (storage.Client, error) {
	c, err := get(ctx, s, s.clients, id)
	return copyClient(c), err
}

// UpdateClient applies update atomically; the client keeps its id.
func (s *Storage) UpdateClient(ctx context.Context, id string, update func(storage.Client) (storage.Client, error)) error {
	return updateRecord(ctx, s, s.clients, id, copyClient, func(c storage.Client) (storage.Client, error) {
		c, err := update(c)
		c.ID = id
		return c, err
	})
}

// DeleteClient removes the client.
func (s *Storage) DeleteClient(ctx context.Context, id string) error {
	return remove(ctx, s, s.clients, id)
}

// ListClients returns copies of every client, by id.
func (s *Storage) ListClients(ctx context.Context) ([]storage.Client, error) {
	return list(ctx, s, s.clients, copyClient)
}

// CreatePassword stores a copy of p under its lower-cased email.
func (s *Storage) CreatePassword(ctx context.Context, p storage.Password) error {
	p.Email = storage.PasswordKey(p.Email)
	return create(ctx, s, s.passwords, p.Email, copyPassword(p))
}

// GetPassword returns a copy of the password stored for email (any case).
func (s *Storage) GetPassword(ctx context.Context, email string) (storage.Password, error) {
	p, err := get(ctx, s, s.passwords, storage.PasswordKey(email))
	return copyPassword(p), err
}

// UpdatePassword applies update atomically; the password keeps its email.
func (s *Storage) UpdatePassword(ctx context.Context, email string, update func(storage.Password) (storage.Password, error)) error {
	key := storage.PasswordKey(email)
	return updateRecord(ctx, s, s.passwords, key, copyPassword, func(p storage.Password) (storage.Password, error) {
		p, err := update(p)
		p.Email = key
		return p, err
	})
}

// DeletePassword removes the password stored for email (any case).
func (s *Storage) DeletePassword(ctx context.Context, email string) error {
	return remove(ctx, s, s.passwords, storage.PasswordKey(email))
}

// ListPasswords returns copies of every password, by email.
func (s *Storage) ListPasswords(ctx context.Context) ([]storage.Password, error) {
	return list(ctx, s, s.passwords, copyPassword)
}

// ListUserRefresh returns the user's current refresh tokens.
func (s *Storage) ListUserRefresh(ctx context.Context, userID, connectorID string) ([]storage.RefreshToken, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []storage.RefreshToken
	for _, r := range s.refresh {
		if r.Claims.UserID == userID && r.ConnectorID == connectorID && r.RotatedAt.IsZero() {
			out = append(out, copyRefresh(r))
		}
	}
	slices.SortFunc(out, func(a, b storage.RefreshToken) int {
		return cmp.Or(cmp.Compare(a.FamilyID, b.FamilyID), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// list returns copies of every value of m ordered by key.
func list[T any](ctx context.Context, s *Storage, m map[string]T, clone func(T) T) ([]T, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]T, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, clone(m[k]))
	}
	return out, nil
}
