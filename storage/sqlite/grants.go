package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/torii-idp/torii/storage"
)

// RevokeGrant deletes the family's refresh tokens and records the grant as
// revoked until the later of any existing record and until, atomically.
func (s *Storage) RevokeGrant(ctx context.Context, grantID string, until time.Time) error {
	return s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE family_id = ?`, grantID); err != nil {
			return fmt.Errorf("sqlite: revoke grant: %w", err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO revoked_grants (grant_id, expiry) VALUES (?, ?)
			ON CONFLICT (grant_id) DO UPDATE SET expiry = max(coalesce(expiry, excluded.expiry), excluded.expiry)`,
			grantID, timeValue(until))
		if err != nil {
			return fmt.Errorf("sqlite: revoke grant: %w", err)
		}
		return nil
	})
}

// GrantRevoked reports whether a revocation record for the grant exists.
func (s *Storage) GrantRevoked(ctx context.Context, grantID string) (bool, error) {
	var one int
	err := s.reader.QueryRowContext(ctx, `SELECT 1 FROM revoked_grants WHERE grant_id = ?`, grantID).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("sqlite: grant revoked: %w", err)
	}
	return true, nil
}

const selectKeys = `SELECT active, next, retired, next_rotation FROM signing_keys WHERE id = 1`

func scanKeys(row rowScanner) (storage.Keys, error) {
	var (
		k            storage.Keys
		retired      string
		nextRotation sql.NullInt64
	)
	if err := row.Scan(&k.Active, &k.Next, &retired, &nextRotation); err != nil {
		return storage.Keys{}, err
	}
	var err error
	if k.Retired, err = decodeRetired(retired); err != nil {
		return storage.Keys{}, err
	}
	k.NextRotation = timeFrom(nextRotation)
	return k, nil
}

// GetKeys returns storage.ErrNotFound until keys have been stored.
func (s *Storage) GetKeys(ctx context.Context) (storage.Keys, error) {
	k, err := scanKeys(s.reader.QueryRowContext(ctx, selectKeys))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return storage.Keys{}, storage.ErrNotFound
	case err != nil:
		return storage.Keys{}, fmt.Errorf("sqlite: get keys: %w", err)
	}
	return k, nil
}

// UpdateKeys runs update in an immediate transaction, which serializes
// every process sharing the file: a due rotation happens once.
func (s *Storage) UpdateKeys(ctx context.Context, update func(storage.Keys) (storage.Keys, error)) error {
	return s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		cur, err := scanKeys(tx.QueryRowContext(ctx, selectKeys))
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlite: get keys: %w", err)
		}
		next, err := update(cur)
		if err != nil {
			return err
		}
		retired, err := encodeRetired(next.Retired)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO signing_keys (id, active, next, retired, next_rotation) VALUES (1, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET active = excluded.active, next = excluded.next,
				retired = excluded.retired, next_rotation = excluded.next_rotation`,
			blobValue(next.Active), blobValue(next.Next), retired, timeValue(next.NextRotation))
		if err != nil {
			return fmt.Errorf("sqlite: store keys: %w", err)
		}
		return nil
	})
}

// GarbageCollect deletes expired rows in batches paced by
// storage.DefaultGCPace: each batch is a write of its own through the group
// committer (so it shares a transaction with the rotations queued beside
// it, never holds the writer for long, and the rotations queued behind it
// wait for one small batch at most), sized to take about 2 ms, with a pause
// twice as long as the batch after it, so a large collection (a million
// expired rows) takes at most a third of the writer. Each batch finds its
// rows through the table's expiry index. A NULL (zero) expiry counts as
// expired, except on refresh tokens where it means never.
func (s *Storage) GarbageCollect(ctx context.Context, now time.Time) (storage.GCResult, error) {
	var res storage.GCResult
	targets := []struct {
		table, expired string
		count          *int64
	}{
		{"auth_requests", "expiry IS NULL OR expiry < ?", &res.AuthRequests},
		{"auth_codes", "expiry IS NULL OR expiry < ?", &res.AuthCodes},
		{"refresh_tokens", "expiry < ?", &res.RefreshTokens},
		{"revoked_grants", "expiry IS NULL OR expiry < ?", &res.RevokedGrants},
		{"throttle_counters", "expiry < ?", &res.ThrottleCounters},
		{"sessions", "expiry IS NULL OR expiry < ?", &res.Sessions},
		{"device_requests", "expiry IS NULL OR expiry < ?", &res.DeviceRequests},
	}
	cutoff := now.UnixMicro()
	for _, t := range targets {
		query := "DELETE FROM " + t.table + " WHERE rowid IN (SELECT rowid FROM " + t.table +
			" WHERE " + t.expired + " LIMIT ?)"
		n, err := s.gcPace.Run(ctx, func(ctx context.Context, limit int) (int64, error) {
			var n int64
			err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
				r, err := tx.ExecContext(ctx, query, cutoff, limit)
				if err != nil {
					return err
				}
				n, err = r.RowsAffected()
				return err
			})
			return n, err
		})
		*t.count += n
		if err != nil {
			return res, fmt.Errorf("sqlite: garbage collect %s: %w", t.table, err)
		}
	}
	if res != (storage.GCResult{}) {
		s.logger.DebugContext(ctx, "storage garbage collected",
			"auth_requests", res.AuthRequests, "auth_codes", res.AuthCodes,
			"refresh_tokens", res.RefreshTokens, "revoked_grants", res.RevokedGrants, "sessions", res.Sessions)
	}
	return res, nil
}
