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

func (k kind[T]) create(ctx context.Context, db *sql.DB, v T) error {
	args, err := k.args(v)
	if err != nil {
		return err
	}
	res, err := db.ExecContext(ctx, k.insertSQL, args...)
	if err != nil {
		return fmt.Errorf("sqlite: insert into %s: %w", k.table, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: insert into %s: %w", k.table, err)
	} else if n == 0 {
		return storage.ErrAlreadyExists
	}
	return nil
}

func (k kind[T]) get(ctx context.Context, db *sql.DB, id string) (T, error) {
	v, err := k.scan(db.QueryRowContext(ctx, k.selectSQL, id))
	return v, k.wrap(err)
}

// update reads, calls fn and writes in one immediate transaction. The id in
// fn's result is ignored: a row keeps its id.
func (k kind[T]) update(ctx context.Context, s *Storage, id string, fn func(T) (T, error)) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		cur, err := k.scan(tx.QueryRowContext(ctx, k.selectSQL, id))
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
		if _, err := tx.ExecContext(ctx, k.updateSQL, args...); err != nil {
			return fmt.Errorf("sqlite: update %s: %w", k.table, err)
		}
		return nil
	})
}

func (k kind[T]) delete(ctx context.Context, db *sql.DB, id string) error {
	res, err := db.ExecContext(ctx, k.deleteSQL, id)
	if err != nil {
		return fmt.Errorf("sqlite: delete from %s: %w", k.table, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: delete from %s: %w", k.table, err)
	} else if n == 0 {
		return storage.ErrNotFound
	}
	return nil
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
