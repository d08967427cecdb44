package postgres

import (
	"context"
	"fmt"

	"github.com/torii-idp/torii/storage"
)

var _ storage.RefreshRotator = (*Storage)(nil)

// rotateRefresh updates the locked old row and inserts the new one in one
// statement (the insert's parameters follow the update's).
const rotateRefresh = `WITH rotated AS (` + updateRefresh + ` RETURNING 1)
INSERT INTO refresh_tokens (` + refreshColumns + `)
VALUES ($17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32)`

// RotateRefresh locks id, runs update, and writes its result and next in
// one transaction of two round trips (BEGIN with the locking SELECT, then
// the update-and-insert statement with COMMIT), as UpdateRefresh costs.
func (s *Storage) RotateRefresh(ctx context.Context, id string, next storage.RefreshToken, update func(storage.RefreshToken) (storage.RefreshToken, error)) error {
	err := lockedUpdate(ctx, s, "rotate refresh token", nil, statement{selectRefresh + " FOR UPDATE", []any{id}}, scanRefresh, update,
		func(r storage.RefreshToken) (statement, error) {
			return statement{rotateRefresh, append(refreshArgs(id, r), refreshArgs(next.ID, next)...)}, nil
		})
	if isUniqueViolation(err) {
		return fmt.Errorf("postgres: rotate refresh token: %w", storage.ErrAlreadyExists)
	}
	return err
}
