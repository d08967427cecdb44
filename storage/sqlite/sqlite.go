// Package sqlite is the default storage.Storage: one file, no server, pure Go
// (modernc.org/sqlite, no cgo).
//
// SQLite allows one writer at a time. Rather than let connections fight over
// the write lock, every write goes through a pool of exactly one connection,
// driven by one goroutine that commits the writes arriving together in one
// transaction (group commit, see group.go), and every transaction starts
// with BEGIN IMMEDIATE, so it takes the lock before it reads and never has
// to be retried. Reads use a separate pool and, thanks to WAL, run
// beside the writer. Several processes may share a file: busy_timeout makes
// them queue for the write lock.
//
// An update function runs while the writer is held, so it must not call the
// Storage itself (that would wait for the writer forever).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/torii-idp/torii/storage"
)

var _ storage.Storage = (*Storage)(nil)

// busyTimeout is how long a connection waits for another process's lock
// before giving up with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// walCheckpointPages is the writer's wal_autocheckpoint (see Open).
const walCheckpointPages = 8000

// Storage is the SQLite backend. Create it with Open.
type Storage struct {
	writer *sql.DB // exactly one connection, immediate transactions
	reader *sql.DB // read-only pool for gets
	group  *committer
	logger *slog.Logger
	kinds  kinds
	// rotation holds RotateRefresh's narrow UPDATEs.
	rotation rotationStmts
	// gcPace paces GarbageCollect (tests make it quicker).
	gcPace storage.GCPace
}

// Open opens (creating if needed) the database file and its parent
// directory, and migrates its schema. A nil logger discards logs.
func Open(ctx context.Context, file string, logger *slog.Logger) (*Storage, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if file == "" || file == ":memory:" || strings.HasPrefix(file, "file:") {
		return nil, fmt.Errorf("sqlite: file must be a path to a database file, got %q", file)
	}
	if strings.ContainsRune(file, '?') {
		return nil, fmt.Errorf("sqlite: file %q must not contain '?'", file)
	}
	if dir := filepath.Dir(file); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sqlite: create directory for database: %w", err)
		}
	}
	if err := privateFiles(ctx, file, logger); err != nil {
		return nil, err
	}

	common := "?_pragma=busy_timeout(" + strconv.FormatInt(busyTimeout.Milliseconds(), 10) + ")" +
		"&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	// The writer checkpoints (it is the connection that commits) every
	// walCheckpointPages frames instead of SQLite's 1,000: a rotation
	// writes the same hot pages (the table's last leaf, the expiry and
	// user index leaves) in commit after commit, and a checkpoint copies
	// each page once however many frames hold it, so fewer checkpoints
	// copy and fsync less per write. Durability is unchanged (a commit is
	// in the WAL before it is acknowledged either way); the WAL file grows
	// to about walCheckpointPages pages (32 MB with 4 KB pages) and stays
	// that size, and a restart after a crash replays up to that much.
	writer, err := sql.Open("sqlite", file+common+"&_pragma=wal_autocheckpoint("+strconv.Itoa(walCheckpointPages)+")&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", file, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)

	// Migrate before opening readers: the first connection also switches a
	// new file to WAL, which readers with query_only could not do.
	if err := migrate(ctx, writer, logger, time.Now()); err != nil {
		_ = writer.Close()
		return nil, err
	}

	// The first connection created -wal and -shm (SQLite gives them the
	// database file's mode, but an existing pair may predate this).
	if err := privateFiles(ctx, file, logger); err != nil {
		_ = writer.Close()
		return nil, err
	}

	reader, err := sql.Open("sqlite", file+common+"&_pragma=query_only(1)")
	if err != nil {
		_ = writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", file, err)
	}
	readers := max(4, runtime.GOMAXPROCS(0))
	reader.SetMaxOpenConns(readers)
	reader.SetMaxIdleConns(readers)
	reader.SetConnMaxLifetime(0)
	reader.SetConnMaxIdleTime(0)

	s := &Storage{writer: writer, reader: reader, logger: logger, kinds: newKinds(), gcPace: storage.DefaultGCPace}
	if err := errors.Join(s.kinds.prepare(ctx, writer, reader), s.rotation.prepare(ctx, writer)); err != nil {
		_ = errors.Join(s.rotation.close(), s.kinds.close(), reader.Close(), writer.Close())
		return nil, err
	}
	if s.group, err = newCommitter(ctx, writer); err != nil {
		_ = errors.Join(s.rotation.close(), s.kinds.close(), reader.Close(), writer.Close())
		return nil, err
	}
	if err := s.Ping(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// Close waits for the group transaction in progress, then closes the
// prepared statements and both pools.
func (s *Storage) Close() error {
	return errors.Join(s.group.close(), s.rotation.close(), s.kinds.close(), s.reader.Close(), s.writer.Close())
}

// Ping checks that the file can still be read.
func (s *Storage) Ping(ctx context.Context) error {
	var one int
	if err := s.reader.QueryRowContext(ctx, `SELECT 1 FROM schema_migrations LIMIT 1`).Scan(&one); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// inTx runs fn in a group transaction on the writer (see group.go) and
// returns once the transaction holding fn's writes has committed. fn's error
// is returned unchanged and undoes only fn's own writes. fn must use the ctx
// it is given (the caller's, without its cancellation).
func (s *Storage) inTx(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return s.group.do(ctx, fn)
}
