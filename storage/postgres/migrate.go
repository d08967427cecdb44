package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// migrationFiles are the schema migrations, named NNNN_what.sql and applied
// in order. A released migration is never edited; a change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations sorted by version; the
// versions must be 1, 2, 3 ... without gaps.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("postgres: migration file %q is not named NNNN_name.sql", e.Name())
		}
		b, err := migrationFiles.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("postgres: migration %s: want version %d", m.name, i+1)
		}
	}
	return ms, nil
}

// SchemaVersion is the schema version this binary creates and expects.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil {
		return 0
	}
	return len(ms)
}

const createVersionTable = `CREATE TABLE IF NOT EXISTS torii_schema_version (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)`

// migrate applies the pending migrations over one dedicated connection that
// holds a session advisory lock: a second replica starting at the same time
// waits, then finds nothing left to do. Closing the connection releases the
// lock even if the process dies half way.
func migrate(ctx context.Context, cc *pgx.ConnConfig, logger *slog.Logger) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return wrapErr(ctx, "connect", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockMigrate); err != nil {
		return wrapErr(ctx, "migration lock", err)
	}
	if _, err := conn.Exec(ctx, createVersionTable); err != nil {
		return wrapErr(ctx, "create version table", err)
	}
	var current int
	if err := conn.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM torii_schema_version").Scan(&current); err != nil {
		return wrapErr(ctx, "read schema version", err)
	}
	latest := len(ms)
	if current > latest {
		return fmt.Errorf("postgres: the database schema is at version %d but this torii binary only knows versions up to %d: "+
			"a newer torii has upgraded this database; run that version (or newer) instead", current, latest)
	}
	for _, m := range ms[current:] {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO torii_schema_version (version, name) VALUES ($1, $2)", m.version, m.name)
			return err
		})
		if err != nil {
			return wrapErr(ctx, "migration "+m.name, err)
		}
		logger.InfoContext(ctx, "postgres schema migrated", "version", m.version, "migration", m.name)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", lockMigrate); err != nil {
		return wrapErr(ctx, "migration unlock", err)
	}
	return nil
}
