package memory

import (
	"context"

	"github.com/torii-idp/torii/storage"
)

// The three record kinds share one shape: create refuses duplicates, get
// and delete report storage.ErrNotFound, update runs under the lock.

// CreateAuthRequest stores a copy of a.
func (s *Storage) CreateAuthRequest(ctx context.Context, a storage.AuthRequest) error {
	return create(ctx, s, s.authRequests, a.ID, copyAuthRequest(a))
}

// GetAuthRequest returns a copy of the stored request.
func (s *Storage) GetAuthRequest(ctx context.Context, id string) (storage.AuthRequest, error) {
	a, err := get(ctx, s, s.authRequests, id)
	return copyAuthRequest(a), err
}

// UpdateAuthRequest applies update atomically.
func (s *Storage) UpdateAuthRequest(ctx context.Context, id string, update func(storage.AuthRequest) (storage.AuthRequest, error)) error {
	return updateRecord(ctx, s, s.authRequests, id, copyAuthRequest, func(a storage.AuthRequest) (storage.AuthRequest, error) {
		a, err := update(a)
		a.ID = id
		return a, err
	})
}

// DeleteAuthRequest removes the request.
func (s *Storage) DeleteAuthRequest(ctx context.Context, id string) error {
	return remove(ctx, s, s.authRequests, id)
}

// CreateAuthCode stores a copy of c.
func (s *Storage) CreateAuthCode(ctx context.Context, c storage.AuthCode) error {
	return create(ctx, s, s.authCodes, c.ID, copyAuthCode(c))
}

// GetAuthCode returns a copy of the stored code.
func (s *Storage) GetAuthCode(ctx context.Context, id string) (storage.AuthCode, error) {
	c, err := get(ctx, s, s.authCodes, id)
	return copyAuthCode(c), err
}

// UpdateAuthCode applies update atomically.
func (s *Storage) UpdateAuthCode(ctx context.Context, id string, update func(storage.AuthCode) (storage.AuthCode, error)) error {
	return updateRecord(ctx, s, s.authCodes, id, copyAuthCode, func(c storage.AuthCode) (storage.AuthCode, error) {
		c, err := update(c)
		c.ID = id
		return c, err
	})
}

// DeleteAuthCode removes the code.
func (s *Storage) DeleteAuthCode(ctx context.Context, id string) error {
	return remove(ctx, s, s.authCodes, id)
}

// CreateRefresh stores a copy of r.
func (s *Storage) CreateRefresh(ctx context.Context, r storage.RefreshToken) error {
	return create(ctx, s, s.refresh, r.ID, copyRefresh(r))
}

// GetRefresh returns a copy of the stored token.
func (s *Storage) GetRefresh(ctx context.Context, id string) (storage.RefreshToken, error) {
	r, err := get(ctx, s, s.refresh, id)
	return copyRefresh(r), err
}

// UpdateRefresh applies update atomically.
func (s *Storage) UpdateRefresh(ctx context.Context, id string, update func(storage.RefreshToken) (storage.RefreshToken, error)) error {
	return updateRecord(ctx, s, s.refresh, id, copyRefresh, func(r storage.RefreshToken) (storage.RefreshToken, error) {
		r, err := update(r)
		r.ID = id
		return r, err
	})
}

// DeleteRefresh removes the token.
func (s *Storage) DeleteRefresh(ctx context.Context, id string) error {
	return remove(ctx, s, s.refresh, id)
}

func create[T any](ctx context.Context, s *Storage, m map[string]T, id string, v T) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := m[id]; ok {
		return storage.ErrAlreadyExists
	}
	m[id] = v
	return nil
}

func get[T any](ctx context.Context, s *Storage, m map[string]T, id string) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := m[id]
	if !ok {
		return zero, storage.ErrNotFound
	}
	return v, nil
}

// updateRecord hands update a copy of the stored value and stores a copy of
// its result, so slices the update function keeps cannot alias the store.
func updateRecord[T any](ctx context.Context, s *Storage, m map[string]T, id string, clone func(T) T, update func(T) (T, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := m[id]
	if !ok {
		return storage.ErrNotFound
	}
	next, err := update(clone(v))
	if err != nil {
		return err
	}
	m[id] = clone(next)
	return nil
}

func remove[T any](ctx context.Context, s *Storage, m map[string]T, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := m[id]; !ok {
		return storage.ErrNotFound
	}
	delete(m, id)
	return nil
}
