package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/torii-idp/torii/storage"
)

var _ storage.RefreshRotator = (*Storage)(nil)

// RotateRefresh reads id, runs update, writes its result and inserts next
// as one write of the group committer: one savepoint in the group
// transaction instead of two writes, and both rows or neither.
func (s *Storage) RotateRefresh(ctx context.Context, id string, next storage.RefreshToken, update func(storage.RefreshToken) (storage.RefreshToken, error)) error {
	k := &s.kinds.refresh
	nextArgs, err := k.args(next)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		cur, err := k.scan(tx.StmtContext(ctx, k.selectW).QueryRowContext(ctx, id))
		if err != nil {
			return k.wrap(err)
		}
		upd, err := update(cur)
		if err != nil {
			return err
		}
		args, err := k.args(upd)
		if err != nil {
			return err
		}
		args = append(args[1:], id)
		if _, err := tx.StmtContext(ctx, k.updateW).ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("sqlite: rotate refresh token: %w", err)
		}
		res, err := tx.StmtContext(ctx, k.insert).ExecContext(ctx, nextArgs...)
		if err != nil {
			return fmt.Errorf("sqlite: rotate refresh token: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite: rotate refresh token: %w", err)
		} else if n == 0 {
			// The savepoint undoes the update with the failed insert.
			return storage.ErrAlreadyExists
		}
		return nil
	})
}
