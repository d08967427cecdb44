package postgres

import (
	"context"
	"time"

	"github.com/torii-idp/torii/storage"
)

// GarbageCollect deletes rows that expired before now in batches paced by
// gcPace (storage.DefaultGCPace: batches of about 2 ms, each one statement
// and so its own short transaction, with a pause twice as long after it):
// a large collection never holds many row locks, takes at most a third of
// a database connection's time and leaves the CPU to requests. Each batch
// finds its rows through the table's expiry index in expiry order and
// deletes them by primary key, skipping rows another transaction has
// locked (they are collected next time). Only one replica collects at a
// time: when another holds the GC advisory lock this returns zero counts
// and no error.
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
		{"device_requests", &res.DeviceRequests},
	}
	for _, t := range tables {
		sql := `DELETE FROM ` + t.table + ` WHERE id IN (
    SELECT id FROM ` + t.table + ` WHERE expiry < $1 ORDER BY expiry LIMIT $2 FOR UPDATE SKIP LOCKED)`
		n, err := s.gcPace.Run(ctx, func(ctx context.Context, limit int) (int64, error) {
			tag, err := conn.Exec(ctx, sql, now, limit)
			return tag.RowsAffected(), err
		})
		*t.n += n
		if err != nil {
			return res, wrapErr(ctx, "garbage collect "+t.table, err)
		}
	}
	return res, nil
}
