package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/torii-idp/torii/storage"
)

// UpdateThrottle reads and writes the counters in one immediate
// transaction: the write lock is taken first, so concurrent updates of the
// same keys serialize across processes.
func (s *Storage) UpdateThrottle(ctx context.Context, now time.Time, keys []string, update func([]storage.ThrottleCounter) ([]storage.ThrottleCounter, error)) error {
	var userErr error
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		cur := make([]storage.ThrottleCounter, len(keys))
		for i, k := range keys {
			c := storage.ThrottleCounter{Key: k}
			var ws, na sql.NullInt64
			var exp int64
			err := tx.QueryRowContext(ctx, `SELECT window_start, count, previous, next_allowed, expiry FROM throttle_counters WHERE key = ?`, k).
				Scan(&ws, &c.Count, &c.Previous, &na, &exp)
			switch {
			case errors.Is(err, sql.ErrNoRows):
			case err != nil:
				return fmt.Errorf("sqlite: read throttle counter: %w", err)
			case time.UnixMicro(exp).Before(now):
				c = storage.ThrottleCounter{Key: k}
			default:
				c.WindowStart, c.NextAllowed, c.Expiry = timeFrom(ws), timeFrom(na), time.UnixMicro(exp).UTC()
			}
			cur[i] = c
		}
		next, err := update(cur)
		if err != nil {
			userErr = err
			return err
		}
		for _, c := range next {
			if !slices.Contains(keys, c.Key) {
				continue
			}
			if c.Expiry.IsZero() {
				_, err = tx.ExecContext(ctx, `DELETE FROM throttle_counters WHERE key = ?`, c.Key)
			} else {
				_, err = tx.ExecContext(ctx, `INSERT INTO throttle_counters (key, window_start, count, previous, next_allowed, expiry)
VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET window_start = excluded.window_start, count = excluded.count,
previous = excluded.previous, next_allowed = excluded.next_allowed, expiry = excluded.expiry`,
					c.Key, timeValue(c.WindowStart), c.Count, c.Previous, timeValue(c.NextAllowed), c.Expiry.UnixMicro())
			}
			if err != nil {
				return fmt.Errorf("sqlite: write throttle counter: %w", err)
			}
		}
		return nil
	})
	if userErr != nil {
		return userErr
	}
	return err
}
