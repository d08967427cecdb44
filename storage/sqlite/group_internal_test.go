package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
)

// TestGroupSemantics runs one group directly: every write sees the ones
// before it, a failing write is undone alone and keeps its error, and all
// the others are committed together.
func TestGroupSemantics(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "torii.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	insert := func(id string) func(context.Context, *sql.Tx) error {
		return func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO revoked_grants (grant_id, expiry) VALUES (?, 1)`, id)
			return err
		}
	}
	errOwn := errors.New("update refused")
	var sawA bool
	ops := []func(context.Context, *sql.Tx) error{
		insert("a"),
		func(ctx context.Context, tx *sql.Tx) error {
			if err := insert("b")(ctx, tx); err != nil {
				return err
			}
			return errOwn // b must disappear with this write
		},
		func(ctx context.Context, tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM revoked_grants WHERE grant_id = 'a'`).Scan(&n); err != nil {
				return err
			}
			sawA = n == 1
			return insert("c")(ctx, tx)
		},
		insert("a"), // a duplicate: a constraint error, its own
	}
	group := make([]*writeOp, len(ops))
	for i, fn := range ops {
		group[i] = &writeOp{ctx: ctx, fn: fn, done: make(chan error, 1)}
	}
	abandoned := &writeOp{ctx: ctx, fn: insert("d"), done: make(chan error, 1)}
	abandoned.state.Store(2)
	s.group.run(append(group, abandoned))

	results := make([]error, len(group))
	for i, o := range group {
		results[i] = <-o.done
	}
	if results[0] != nil || results[2] != nil {
		t.Errorf("successful writes answered %v, %v; want nil", results[0], results[2])
	}
	if !errors.Is(results[1], errOwn) {
		t.Errorf("failing write answered %v, want its own error", results[1])
	}
	if results[3] == nil {
		t.Error("duplicate insert answered nil")
	}
	if len(abandoned.done) != 0 {
		t.Error("an abandoned write was answered")
	}
	if !sawA {
		t.Error("a write did not see the earlier write of its group")
	}
	for id, want := range map[string]bool{"a": true, "b": false, "c": true, "d": false} {
		revoked, err := s.GrantRevoked(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if revoked != want {
			t.Errorf("row %s present = %v, want %v", id, revoked, want)
		}
	}
	if groups, writes := s.GroupStats(); groups != 1 || writes != 2 {
		t.Errorf("GroupStats = %d groups, %d writes; want 1, 2", groups, writes)
	}
}

// TestWriterCheckpointInterval: the writer, which runs the automatic
// checkpoints, has the longer interval, and the file is in WAL mode with
// synchronous NORMAL (the durability TestKillNineKeepsAcknowledged checks).
func TestWriterCheckpointInterval(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "torii.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var pages, sync int
	var mode string
	if err := s.writer.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if err := s.writer.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil {
		t.Fatal(err)
	}
	if err := s.writer.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if pages != walCheckpointPages || sync != 1 || mode != "wal" {
		t.Errorf("writer: wal_autocheckpoint %d, synchronous %d, journal_mode %s; want %d, 1 (NORMAL), wal", pages, sync, mode, walCheckpointPages)
	}
}
