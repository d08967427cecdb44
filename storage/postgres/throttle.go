package postgres

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/torii-idp/torii/storage"
)

// lockThrottleClass is the first key of the two-key advisory locks that
// serialize updates of one throttle key (the second is the key's hash);
// the two-key space does not overlap the one-key locks of migration and GC.
const lockThrottleClass int32 = 0x746f7269 // "tori"

// UpdateThrottle locks the keys with transaction-scoped advisory locks
// (in hash order, so two updates of overlapping keys cannot deadlock; a
// lock works for a key that has no row yet, which SELECT ... FOR UPDATE
// would not), reads the rows, and writes update's result before commit.
func (s *Storage) UpdateThrottle(ctx context.Context, now time.Time, keys []string, update func([]storage.ThrottleCounter) ([]storage.ThrottleCounter, error)) error {
	return s.inTx(ctx, "update throttle", func(tx pgx.Tx) error {
		// A counter lost to a crash costs nothing worth a disk flush per
		// login; the commit still orders concurrent updates.
		// One round trip: the settings, the locks and the read are sent as
		// one batch and run in order.
		rb := &pgx.Batch{}
		rb.Queue(`SET LOCAL synchronous_commit TO OFF`)
		rb.Queue(`SELECT pg_advisory_xact_lock($2, h) FROM (
    SELECT DISTINCT hashtext(k) AS h FROM unnest($1::text[]) AS k ORDER BY 1) AS locks`, keys, lockThrottleClass)
		rb.Queue(`SELECT id, window_start, count, previous, next_allowed, expiry
FROM throttle_counters WHERE id = ANY($1) AND expiry >= $2`, keys, now)
		br := tx.SendBatch(ctx, rb)
		if _, err := br.Exec(); err != nil {
			br.Close()
			return err
		}
		if _, err := br.Exec(); err != nil {
			br.Close()
			return err
		}
		rows, err := br.Query()
		if err != nil {
			br.Close()
			return err
		}
		found := map[string]storage.ThrottleCounter{}
		for rows.Next() {
			var c storage.ThrottleCounter
			var ws, na, exp pgtype.Timestamptz
			if err := rows.Scan(&c.Key, &ws, &c.Count, &c.Previous, &na, &exp); err != nil {
				rows.Close()
				br.Close()
				return err
			}
			c.WindowStart, c.NextAllowed, c.Expiry = fromTS(ws), fromTS(na), fromTS(exp)
			found[c.Key] = c
		}
		if err := rows.Err(); err != nil {
			br.Close()
			return err
		}
		if err := br.Close(); err != nil {
			return err
		}
		cur := make([]storage.ThrottleCounter, len(keys))
		for i, k := range keys {
			c, ok := found[k]
			if !ok {
				c = storage.ThrottleCounter{Key: k}
			}
			cur[i] = c
		}
		next, err := update(cur)
		if err != nil {
			return userError{err}
		}
		b := &pgx.Batch{}
		for _, c := range next {
			if !slices.Contains(keys, c.Key) {
				continue
			}
			if c.Expiry.IsZero() {
				b.Queue(`DELETE FROM throttle_counters WHERE id = $1`, c.Key)
				continue
			}
			b.Queue(`INSERT INTO throttle_counters (id, window_start, count, previous, next_allowed, expiry)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET window_start = excluded.window_start,
count = excluded.count, previous = excluded.previous, next_allowed = excluded.next_allowed, expiry = excluded.expiry`,
				c.Key, timeArg(c.WindowStart), c.Count, c.Previous, timeArg(c.NextAllowed), c.Expiry)
		}
		if b.Len() == 0 {
			return nil
		}
		return tx.SendBatch(ctx, b).Close()
	})
}
