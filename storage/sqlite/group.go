package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// Group commit.
//
// Every write of this process goes through one goroutine, the committer.
// It takes the first write waiting, then every other write already waiting
// (up to maxGroup), and runs them all in one immediate transaction, each
// inside its own SAVEPOINT: a write whose function fails is rolled back to
// its savepoint alone and its caller gets its error, while the others go
// on. Then it commits once and only then answers each caller. So:
//
//   - A caller is answered nil only after the COMMIT that holds its write
//     has returned; durability of an acknowledged write is exactly what it
//     was with one transaction per write (WAL, synchronous=NORMAL: the
//     commit has been written to the WAL file before COMMIT returns, so a
//     kill -9 of the process loses nothing acknowledged; a power cut may
//     lose the last commits, as before).
//   - If the COMMIT fails, every write of the group fails with that error
//     and none of them is visible: nothing was acknowledged.
//   - Writes that arrive while a transaction is running wait for it and form
//     the next group; a lone write is committed at once (no added delay).
//     After a group of two or more, the committer yields the processor once
//     before taking the next group (runtime.Gosched: no timer, no wait when
//     nothing else is runnable), so that callers already running reach
//     their write and share the commit.
//   - Writes of one group see each other's effects in order, as if they had
//     been committed one after the other.
//   - A caller whose ctx ends before its write has been taken into a group
//     gets ctx.Err() and its write never runs. Once taken, the write runs to
//     the end without the caller's cancellation (an interrupted statement
//     would roll back the whole group) and the caller waits for its real
//     outcome, which is at most one transaction away.
const maxGroup = 64

// errClosed is returned for writes submitted after Close.
var errClosed = errors.New("sqlite: storage is closed")

type writeOp struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *sql.Tx) error
	done chan error // buffered: the committer never blocks on a caller
	// state: 0 waiting, 1 taken by the committer, 2 abandoned by the caller.
	state atomic.Int32
}

type committer struct {
	db   *sql.DB
	ops  chan *writeOp // unbuffered: a send succeeds only while the loop runs
	quit chan struct{}
	once sync.Once
	wg   sync.WaitGroup
	// Prepared savepoint statements (parsing them per write costs CPU).
	savepoint, release, rollbackTo *sql.Stmt
	// groups and writes count committed transactions and the writes they
	// committed (tests read them through GroupStats).
	groups, writes atomic.Int64
}

func newCommitter(ctx context.Context, db *sql.DB) (*committer, error) {
	c := &committer{db: db, ops: make(chan *writeOp), quit: make(chan struct{})}
	var err error
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&c.savepoint, "SAVEPOINT w"},
		{&c.release, "RELEASE w"},
		{&c.rollbackTo, "ROLLBACK TO w"},
	} {
		if *p.stmt, err = db.PrepareContext(ctx, p.sql); err != nil {
			c.closeStmts()
			return nil, fmt.Errorf("sqlite: prepare %q: %w", p.sql, err)
		}
	}
	c.wg.Go(c.loop)
	return c, nil
}

// do runs fn inside a group transaction and returns fn's error unchanged,
// or the commit's error, once the transaction holding it has ended.
func (c *committer) do(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o := &writeOp{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case c.ops <- o:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.quit:
		return errClosed
	}
	select {
	case err := <-o.done:
		return err
	case <-ctx.Done():
		if o.state.CompareAndSwap(0, 2) {
			return ctx.Err()
		}
		return <-o.done
	}
}

func (c *committer) loop() {
	group := make([]*writeOp, 0, maxGroup)
	last := 0 // the size of the previous group
	for {
		select {
		case o := <-c.ops:
			group = append(group[:0], o)
		case <-c.quit:
			return
		}
		group = c.drain(group)
		if last > 1 && len(group) < maxGroup {
			// The last group had company: others are likely on their
			// way (the callers of a busy server are between their
			// read and their write). Let the goroutines already
			// runnable reach their write before this group starts,
			// once: it costs nothing when none is runnable, and each
			// write that joins saves its own commit (the pages that
			// every rotation touches are written once per group).
			runtime.Gosched()
			group = c.drain(group)
		}
		last = len(group)
		c.run(group)
		clear(group)
	}
}

// drain adds the writes already waiting, up to maxGroup.
func (c *committer) drain(group []*writeOp) []*writeOp {
	for len(group) < maxGroup {
		select {
		case o := <-c.ops:
			group = append(group, o)
		default:
			return group
		}
	}
	return group
}

// run executes one group and answers every write in it.
func (c *committer) run(group []*writeOp) {
	taken := group[:0]
	for _, o := range group {
		if o.state.CompareAndSwap(0, 1) {
			taken = append(taken, o)
		}
	}
	if len(taken) == 0 {
		return
	}
	results := make([]error, len(taken))
	answer := func(all error) {
		for i, o := range taken {
			if results[i] == nil {
				results[i] = all
			}
			o.done <- results[i]
		}
	}
	// Background: the group must not be rolled back because one caller left.
	ctx := context.Background()
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		answer(fmt.Errorf("sqlite: begin: %w", err))
		return
	}
	sp, rel, rb := tx.StmtContext(ctx, c.savepoint), tx.StmtContext(ctx, c.release), tx.StmtContext(ctx, c.rollbackTo)
	for i, o := range taken {
		if _, err := sp.ExecContext(ctx); err != nil {
			_ = tx.Rollback()
			answer(fmt.Errorf("sqlite: savepoint: %w", err))
			return
		}
		if results[i] = o.fn(context.WithoutCancel(o.ctx), tx); results[i] != nil {
			if _, err := rb.ExecContext(ctx); err != nil {
				// The transaction itself is gone (SQLite rolled it back):
				// no write of the group is committed.
				_ = tx.Rollback()
				answer(fmt.Errorf("sqlite: group transaction aborted: %w", err))
				return
			}
		}
		if _, err := rel.ExecContext(ctx); err != nil {
			_ = tx.Rollback()
			answer(fmt.Errorf("sqlite: release savepoint: %w", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		// Writes whose function failed keep their own error; the others
		// were not committed.
		commitErr := fmt.Errorf("sqlite: commit: %w", err)
		for i := range taken {
			if results[i] == nil {
				results[i] = commitErr
			}
		}
		answer(nil)
		return
	}
	c.groups.Add(1)
	for _, err := range results {
		if err == nil {
			c.writes.Add(1)
		}
	}
	answer(nil)
}

// close stops the loop after the group in progress and closes the
// statements; writes submitted afterwards get errClosed. A second close
// is a no-op.
func (c *committer) close() error {
	var err error
	c.once.Do(func() {
		close(c.quit)
		c.wg.Wait()
		err = c.closeStmts()
	})
	return err
}

func (c *committer) closeStmts() error {
	var errs []error
	for _, st := range []*sql.Stmt{c.savepoint, c.release, c.rollbackTo} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// GroupStats reports how many group transactions have committed and how
// many writes they committed (a write refused by its function is not
// counted); writes/groups is the mean group size.
func (s *Storage) GroupStats() (groups, writes int64) {
	return s.group.groups.Load(), s.group.writes.Load()
}
