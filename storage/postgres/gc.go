package postgres

import (
	"context"
	"time"

	"github.com/torii-idp/torii/storage"
)

// GarbageCollect deletes rows that expired before now, in batches of
// gcBatch rows per statement so no statement holds many row locks for
// long, skipping rows another transaction has locked (they are collected
// next time). Only one replica collects at a time: when another holds the
// GC advisory lock this returns zero counts and no error.
func (s *Storage) GarbageCollect(ctx context.Context, now time.Time) (storage.GCResult, error) {
	var res storage.GCResult
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return res, wrapErr(ctx, "garbage collect", err)
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", lockGC).Scan(&locked); err != nil {
		return res, wrapErr(ctx, "garbage collect lock", err)
	}
	if !locked {
		s.logger.DebugContext(ctx, "postgres garbage collection skipped: another replica is collecting")
		return res, nil
	}
	defer func() {
		// A session lock outlives the call unless released; if releasing
		// fails, closing the connection drops the lock with the session.
		unlockCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(unlockCtx, "SELECT pg_advisory_unlock($1)", lockGC); err != nil {
			conn.Conn().Close(unlockCtx) //nolint:errcheck // the pool discards the closed connection
		}
	}()

	tables := []struct {
		table string
		n     *int64
	}{
		{"auth_requests", &res.AuthRequests},
		{"auth_codes", &res.AuthCodes},
		{"refresh_tokens", &res.RefreshTokens},
		{"revoked_grants", &res.RevokedGrants},
		{"throttle_counters", &res.ThrottleCounters},
		{"sessions", &res.Sessions},
	}
	for _, t := range tables {
		sql := `DELETE FROM ` + t.table + ` WHERE id IN (
    SELECT id FROM ` + t.table + ` WHERE expiry < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`
		for {
			tag, err := conn.Exec(ctx, sql, now, s.gcBatch)
			if err != nil {
				return res, wrapErr(ctx, "garbage collect "+t.table, err)
			}
			*t.n += tag.RowsAffected()
			if tag.RowsAffected() < int64(s.gcBatch) {
				break
			}
		}
	}
	return res, nil
}
