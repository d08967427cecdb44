package memory

import (
	"context"

	"github.com/torii-idp/torii/storage"
)

var _ storage.RefreshRotator = (*Storage)(nil)

// RotateRefresh updates id and creates next under one lock.
func (s *Storage) RotateRefresh(ctx context.Context, id string, next storage.RefreshToken, update func(storage.RefreshToken) (storage.RefreshToken, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.refresh[id]
	if !ok {
		return storage.ErrNotFound
	}
	upd, err := update(copyRefresh(cur))
	if err != nil {
		return err
	}
	if _, taken := s.refresh[next.ID]; taken {
		return storage.ErrAlreadyExists
	}
	upd.ID = id
	s.refresh[id] = copyRefresh(upd)
	s.refresh[next.ID] = copyRefresh(next)
	return nil
}
