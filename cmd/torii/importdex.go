package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/torii-idp/torii/connector/static"
	"github.com/torii-idp/torii/internal/dexmigrate"
	"github.com/torii-idp/torii/storage"
)

const importDexUsage = "usage: torii import-dex [--dry-run] [--force] DEX_CONFIG TORII_CONFIG\n"

// importDexCommand copies what torii needs of Dex's storage into torii's
// (see docs/migrate-from-dex.md). Dex's database is only read.
func importDexCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	dryRun, force := false, false
	var paths []string
	for _, a := range args {
		switch {
		case a == "--dry-run" || a == "-dry-run" || a == "-n":
			dryRun = true
		case a == "--force" || a == "-force":
			force = true
		case a == "" || a[0] == '-':
			fmt.Fprint(stderr, importDexUsage)
			return 2
		default:
			paths = append(paths, a)
		}
	}
	if len(paths) != 2 {
		fmt.Fprint(stderr, importDexUsage)
		return 2
	}
	dex, err := loadDexConfig(paths[0], lookupEnv)
	if err != nil {
		printProblems(stderr, err)
		return 1
	}
	c, err := LoadConfig(paths[1], lookupEnv)
	if err != nil {
		printProblems(stderr, err)
		return 1
	}
	logger := c.newLogger(stderr, new(slog.LevelVar))
	store, err := c.openStorage(ctx, logger)
	if err != nil {
		fmt.Fprintf(stderr, "torii import-dex: torii storage: %v\n", err)
		return 1
	}
	defer store.Close()
	rep, err := importDex(ctx, dex, c, store, dryRun, force)
	if rep != nil {
		rep.Print(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "torii import-dex: %v\n", err)
		return 1
	}
	return 0
}

// importDex reads Dex's storage (one read-only transaction, or one list
// per kind of Dex's custom resources), closes it, then writes into torii's
// storage (which may be the same database file or namespace: torii's
// tables and kinds do not collide with Dex's).
func importDex(ctx context.Context, dex *dexSide, c *Config, store storage.Storage, dryRun, force bool) (*dexmigrate.Report, error) {
	snap, where, err := readDexStorage(ctx, dex.Storage)
	if err != nil {
		return nil, err
	}
	opts := dexmigrate.Options{
		DexIDTokens: dex.IDTokens,
		Refresh:     c.Expiry.RefreshTokens,
		Connectors:  map[string]bool{},
		Clients:     map[string]bool{},
		DryRun:      dryRun,
		Force:       force,
	}
	for _, id := range c.connectorIDs() {
		opts.Connectors[id] = true
	}
	for _, cl := range c.Clients {
		opts.Clients[cl.ID] = true
	}
	if c.EnablePasswordDB {
		opts.PasswordConnector = static.ID
		opts.StaticUsers = map[string]bool{}
		for _, u := range c.Users {
			opts.StaticUsers[storage.PasswordKey(u.Email)] = true
		}
	}
	rep, err := dexmigrate.Import(ctx, snap, store, opts)
	if rep != nil {
		rep.Source = where
	}
	return rep, err
}
