package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/torii-idp/torii/storage"
)

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

// kind is the SQL for one record type whose first column is its id. The
// three record kinds differ only in columns, so create/get/update/delete
// are written once.
type kind[T any] struct {
	table     string
	insertSQL string
	selectSQL string
	updateSQL string
	deleteSQL string
	// Prepared once: parsing the SQL was a third of the CPU of a write.
	insert, selectW, selectR, updateW, deleteW *sql.Stmt
	// args returns the column values in column order, id first.
	args func(T) ([]any, error)
	scan func(rowScanner) (T, error)
}

func newKind[T any](table string, columns []string, args func(T) ([]any, error), scan func(rowScanner) (T, error)) kind[T] {
	cols := strings.Join(columns, ", ")
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(columns)), ", ")
	setMarks := strings.TrimSuffix(strings.Repeat("?, ", len(columns)-1), ", ")
	return kind[T]{
		table:     table,
		insertSQL: "INSERT INTO " + table + " (" + cols + ") VALUES (" + marks + ") ON CONFLICT (id) DO NOTHING",
		selectSQL: "SELECT " + cols + " FROM " + table + " WHERE id = ?",
		updateSQL: "UPDATE " + table + " SET (" + strings.Join(columns[1:], ", ") + ") = (" + setMarks + ") WHERE id = ?",
		deleteSQL: "DELETE FROM " + table + " WHERE id = ?",
		args:      args,
		scan:      scan,
	}
}

// prepare prepares the statements: writes and the read inside an update on
// the writer, plain reads on the reader pool.
func (k *kind[T]) prepare(ctx context.Context, writer, reader *sql.DB) error {
	var err error
	for _, p := range []struct {
		stmt **sql.Stmt
		db   *sql.DB
		sql  string
	}{
		{&k.insert, writer, k.insertSQL},
		{&k.selectW, writer, k.selectSQL},
		{&k.selectR, reader, k.selectSQL},
		{&k.updateW, writer, k.updateSQL},
		{&k.deleteW, writer, k.deleteSQL},
	} {
		if *p.stmt, err = p.db.PrepareContext(ctx, p.sql); err != nil {
			return fmt.Errorf("sqlite: prepare %q: %w", p.sql, err)
		}
	}
	return nil
}

func (k *kind[T]) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{k.insert, k.selectW, k.selectR, k.updateW, k.deleteW} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

func (k kind[T]) create(ctx context.Context, s *Storage, v T) error {
	args, err := k.args(v)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.StmtContext(ctx, k.insert).ExecContext(ctx, args...)
		if err != nil {
			return fmt.Errorf("sqlite: insert into %s: %w", k.table, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite: insert into %s: %w", k.table, err)
		} else if n == 0 {
			return storage.ErrAlreadyExists
		}
		return nil
	})
}

func (k kind[T]) get(ctx context.Context, id string) (T, error) {
	v, err := k.scan(k.selectR.QueryRowContext(ctx, id))
	return v, k.wrap(err)
}

// update reads, calls fn and writes in one immediate transaction. The id in
// fn's result is ignored: a row keeps its id.
func (k kind[T]) update(ctx context.Context, s *Storage, id string, fn func(T) (T, error)) error {
	return s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		cur, err := k.scan(tx.StmtContext(ctx, k.selectW).QueryRowContext(ctx, id))
		if err != nil {
			return k.wrap(err)
		}
		next, err := fn(cur)
		if err != nil {
			return err
		}
		args, err := k.args(next)
		if err != nil {
			return err
		}
		args = append(args[1:], id)
		if _, err := tx.StmtContext(ctx, k.updateW).ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("sqlite: update %s: %w", k.table, err)
		}
		return nil
	})
}

func (k kind[T]) delete(ctx context.Context, s *Storage, id string) error {
	return s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.StmtContext(ctx, k.deleteW).ExecContext(ctx, id)
		if err != nil {
			return fmt.Errorf("sqlite: delete from %s: %w", k.table, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite: delete from %s: %w", k.table, err)
		} else if n == 0 {
			return storage.ErrNotFound
		}
		return nil
	})
}

func (k kind[T]) wrap(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return storage.ErrNotFound
	default:
		return fmt.Errorf("sqlite: select from %s: %w", k.table, err)
	}
}
