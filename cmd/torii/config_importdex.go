package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"gopkg.in/yaml.v3"

	"github.com/torii-idp/torii/internal/dexmigrate"
	"github.com/torii-idp/torii/storage"
)

// decodeImportDex reads the opt-in import at start:
//
//	importDex:
//	  config: /etc/dex/config.yaml
func (c *Config) decodeImportDex(n *yaml.Node, path string) {
	d := c.d
	if isNull(resolve(n)) {
		return
	}
	d.mapping(n, path, fields{
		"config": func(n *yaml.Node, p string) { c.ImportDex = d.str(n, p) },
	}, nil)
	if c.ImportDex == "" {
		d.at(join(path, "config"), "is required: the path of Dex's config.yaml")
	}
}

// importDexAtStart imports Dex's storage when importDex is set and torii
// has never run on this storage (no signing keys yet): the first start
// takes over Dex's keys and tokens, later starts never read Dex again, so
// a token torii rotated long ago cannot come back from Dex's database.
// A failed import stops the start: the operator asked for it.
func (c *Config) importDexAtStart(ctx context.Context, store storage.Storage, logger *slog.Logger) error {
	if c.ImportDex == "" {
		return nil
	}
	_, err := store.GetKeys(ctx)
	if err == nil {
		logger.Debug("importDex: torii's storage is already in use; Dex's is not read again", "dex_config", c.ImportDex)
		return nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("importDex: torii storage: %w", err)
	}
	dex, err := loadDexConfig(c.ImportDex, lookupEnv)
	if err != nil {
		return fmt.Errorf("importDex.config: %w", err)
	}
	rep, err := importDex(ctx, dex, c, store, false, false)
	if err != nil {
		return fmt.Errorf("importDex: %w", err)
	}
	for _, it := range rep.Items {
		// Items name users by email: debug only.
		logger.Debug("importDex item", "kind", it.Kind, "id", it.ID, "outcome", it.Outcome, "reason", it.Reason)
	}
	kinds := []string{dexmigrate.KindKey, dexmigrate.KindRefreshToken, dexmigrate.KindClient, dexmigrate.KindPassword}
	attrs := []any{"dex_config", c.ImportDex}
	skipped := 0
	for _, k := range kinds {
		attrs = append(attrs, k+"s_imported", rep.Count(k, dexmigrate.Imported))
		skipped += rep.Count(k, dexmigrate.Skipped)
	}
	skipped += rep.Count(dexmigrate.KindConnector, dexmigrate.Skipped)
	attrs = append(attrs, "dex_storage", rep.Source)
	logger.Info("imported Dex's storage", attrs...)
	if skipped > 0 {
		logger.Warn("importDex skipped items; `torii import-dex --dry-run` lists them with reasons", "skipped", skipped)
	}
	return nil
}
