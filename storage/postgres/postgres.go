// Package postgres stores torii's state in PostgreSQL, so that several
// torii replicas can share one database.
//
// Every update locks its row (SELECT ... FOR UPDATE in a READ COMMITTED
// transaction), so two replicas updating the same refresh token or the
// signing keys serialize instead of racing. Failures to reach the database
// wrap storage.ErrUnavailable.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/torii-idp/torii/storage"
)

// Storage implements storage.Storage on a pgx connection pool.
type Storage struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
	// gcPace paces GarbageCollect (tests use tiny batches).
	gcPace storage.GCPace
}

var _ storage.Storage = (*Storage)(nil)

const (
	// Advisory lock keys (arbitrary, fixed): one for migrations, one for
	// garbage collection.
	lockMigrate int64 = 0x746f726969_01 // "torii" 1
	lockGC      int64 = 0x746f726969_02

	// maxAttempts bounds the transparent retries of a statement or
	// transaction that failed with a serialization failure, a deadlock or
	// before anything reached the server.
	maxAttempts = 5
)

// Open connects to PostgreSQL, applies pending schema migrations (under an
// advisory lock, so replicas starting together do not collide) and returns
// the store. It refuses a database whose schema is newer than this binary.
func Open(ctx context.Context, c Config, logger *slog.Logger) (*Storage, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	pc, err := c.poolConfig()
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, pc.ConnConfig.Copy(), logger); err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, wrapErr(ctx, "open pool", err)
	}
	return &Storage{pool: pool, logger: logger, gcPace: storage.DefaultGCPace}, nil
}

// Close closes every connection of the pool.
func (s *Storage) Close() error {
	s.pool.Close()
	return nil
}

// Ping checks that the database answers; it is the readiness check.
func (s *Storage) Ping(ctx context.Context) error {
	return wrapErr(ctx, "ping", s.pool.Ping(ctx))
}

// wrapErr annotates err with op and classifies it: a done ctx wins (so
// callers see context.Canceled), and failures to reach the server wrap
// storage.ErrUnavailable.
func wrapErr(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(err, ctxErr) {
			return fmt.Errorf("postgres: %s: %w", op, err)
		}
		return fmt.Errorf("postgres: %s: %w: %w", op, ctxErr, err)
	}
	if unavailable(err) {
		return fmt.Errorf("postgres: %s: %w: %w", op, storage.ErrUnavailable, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// unavailable reports whether err means the server could not be reached
// or went away, as opposed to refusing a statement.
func unavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "57P01", "57P02", "57P03", // admin/crash shutdown, cannot connect now
			"53300", // too many connections
			"25006": // read-only transaction: a standby after failover
			return true
		}
		return len(pgErr.Code) == 5 && pgErr.Code[:2] == "08" // connection exception
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) ||
		errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, context.DeadlineExceeded) || // a connect timeout, the caller's ctx being alive
		pgconn.Timeout(err) || pgconn.SafeToRetry(err)
}

// retryable reports whether running the same work again is safe and may
// succeed: the server rolled the transaction back (serialization failure,
// deadlock), or nothing was sent at all.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "40001" || pgErr.Code == "40P01"
	}
	return pgconn.SafeToRetry(err)
}

// retry runs fn until it succeeds, fails for good or maxAttempts is reached.
func retry(ctx context.Context, fn func() error) error {
	var err error
	for attempt := range maxAttempts {
		if err = fn(); err == nil || !retryable(err) || ctx.Err() != nil {
			return err
		}
		// A short, growing pause so two losers of a deadlock do not meet again.
		t := time.NewTimer(time.Duration(attempt+1) * 5 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
	return err
}

// userError carries the error of an update function through the
// transaction so it can be returned unchanged.
type userError struct{ err error }

func (u userError) Error() string { return u.err.Error() }

// inTx runs fn in a READ COMMITTED transaction, retrying it as retry does.
// An error fn wraps in userError is returned unchanged.
func (s *Storage) inTx(ctx context.Context, op string, fn func(tx pgx.Tx) error) error {
	err := retry(ctx, func() error {
		tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit this is a no-op
		if err := fn(tx); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
	var ue userError
	if errors.As(err, &ue) {
		return ue.err
	}
	return wrapErr(ctx, op, err)
}

// exec runs one statement outside a transaction and returns the number of
// rows it touched.
func (s *Storage) exec(ctx context.Context, op, sql string, args ...any) (int64, error) {
	var n int64
	err := retry(ctx, func() error {
		tag, err := s.pool.Exec(ctx, sql, args...)
		n = tag.RowsAffected()
		return err
	})
	if isUniqueViolation(err) {
		return 0, fmt.Errorf("postgres: %s: %w", op, storage.ErrAlreadyExists)
	}
	return n, wrapErr(ctx, op, err)
}

// get reads one row with scan; no row is storage.ErrNotFound.
func get[T any](ctx context.Context, s *Storage, op string, scan func(pgx.Row) (T, error), sql string, args ...any) (T, error) {
	var v T
	err := retry(ctx, func() error {
		var err error
		v, err = scan(s.pool.QueryRow(ctx, sql, args...))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return v, fmt.Errorf("postgres: %s: %w", op, storage.ErrNotFound)
	}
	return v, wrapErr(ctx, op, err)
}

// statement is one SQL statement with its arguments.
type statement struct {
	sql  string
	args []any
}

// lockedUpdate is the read-modify-write behind every Update method: in a
// READ COMMITTED transaction it runs prelude, locks one row with lock (a
// SELECT ... FOR UPDATE scanned by scan), calls fn and writes its result
// with the statement write returns. Statements are pipelined: BEGIN, the
// prelude and the SELECT travel together, as do the write and COMMIT, so
// an update costs two round trips instead of four. A concurrent update of
// the same row waits for the lock and then sees the committed result.
func lockedUpdate[T any](ctx context.Context, s *Storage, op string, prelude []statement, lock statement,
	scan func(pgx.Row) (T, error), fn func(T) (T, error), write func(T) (statement, error),
) error {
	err := retry(ctx, func() error {
		conn, err := s.pool.Acquire(ctx)
		if err != nil {
			return err
		}
		// Release destroys the connection if a transaction is still open.
		defer conn.Release()
		rollback := func() {
			if conn.Conn().PgConn().TxStatus() != 'I' {
				conn.Exec(context.WithoutCancel(ctx), "ROLLBACK") //nolint:errcheck // Release discards a broken connection
			}
		}

		b := &pgx.Batch{}
		b.Queue("BEGIN ISOLATION LEVEL READ COMMITTED")
		for _, st := range prelude {
			b.Queue(st.sql, st.args...)
		}
		b.Queue(lock.sql, lock.args...)
		br := conn.SendBatch(ctx, b)
		for range len(prelude) + 1 {
			if _, err = br.Exec(); err != nil {
				break
			}
		}
		var old T
		if err == nil {
			old, err = scan(br.QueryRow())
		}
		if closeErr := br.Close(); err == nil {
			err = closeErr
		}
		if err != nil {
			rollback()
			if errors.Is(err, pgx.ErrNoRows) {
				return userError{notFound(op)}
			}
			return err
		}

		v, err := fn(old)
		if err != nil {
			rollback()
			return userError{err}
		}
		st, err := write(v)
		if err != nil {
			rollback()
			return userError{err}
		}
		b = &pgx.Batch{}
		b.Queue(st.sql, st.args...)
		b.Queue("COMMIT")
		br = conn.SendBatch(ctx, b)
		_, err = br.Exec()
		if err == nil {
			_, err = br.Exec()
		}
		if closeErr := br.Close(); err == nil {
			err = closeErr
		}
		if err != nil {
			rollback()
		}
		return err
	})
	var ue userError
	if errors.As(err, &ue) {
		return ue.err
	}
	return wrapErr(ctx, op, err)
}

// update is lockedUpdate of the row with the given id.
func update[T any](ctx context.Context, s *Storage, op string, scan func(pgx.Row) (T, error), selectSQL string,
	id string, fn func(T) (T, error), write func(T) (statement, error),
) error {
	return lockedUpdate(ctx, s, op, nil, statement{selectSQL, []any{id}}, scan, fn, write)
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
