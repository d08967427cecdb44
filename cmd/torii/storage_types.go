package main

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/torii-idp/torii/storage"
	"github.com/torii-idp/torii/storage/memory"
	"github.com/torii-idp/torii/storage/sqlite"
)

// storageFactory is one storage type of the registry: it decodes the
// type's storage.config block strictly (unknown keys and bad values are
// problems reported through d, Dex's $VAR expansion already applied) and
// returns the settings that open the backend.
type storageFactory func(d *decoder, n *yaml.Node, path string) storageSettings

// storageSettings is one backend's decoded storage.config.
type storageSettings interface {
	// open connects to (or creates) the backend.
	open(ctx context.Context, logger *slog.Logger) (storage.Storage, error)
	// describe is the check-config summary (never a secret).
	describe() string
}

// storageTypes is the registry of storage types, by Dex's type string.
// Adding a backend is its package plus one line here.
func storageTypes() map[string]storageFactory {
	return map[string]storageFactory{
		"memory":     decodeMemoryStorage,
		"sqlite3":    decodeSQLiteStorage,
		"postgres":   decodePostgresStorage,
		"kubernetes": decodeKubernetesStorage,
	}
}

// unsupportedStorage are Dex's storage types torii refuses by name.
var unsupportedStorage = []string{"etcd", "mysql"}

func storageTypeNames(types map[string]storageFactory) string {
	return strings.Join(slices.Sorted(maps.Keys(types)), ", ")
}

// memorySettings: storage.config of type memory (no keys).
type memorySettings struct{}

func decodeMemoryStorage(d *decoder, n *yaml.Node, path string) storageSettings {
	d.mapping(n, path, fields{}, nil)
	return memorySettings{}
}

func (memorySettings) open(context.Context, *slog.Logger) (storage.Storage, error) {
	return memory.New(), nil
}

func (memorySettings) describe() string { return "memory" }

// sqliteSettings: storage.config of type sqlite3.
type sqliteSettings struct{ File string }

func decodeSQLiteStorage(d *decoder, n *yaml.Node, path string) storageSettings {
	var s sqliteSettings
	d.mapping(n, path, fields{
		"file": func(n *yaml.Node, p string) { s.File = d.str(n, p) },
	}, nil)
	if s.File == "" {
		d.at(join(path, "file"), "is required for sqlite3 storage")
	}
	return s
}

func (s sqliteSettings) open(ctx context.Context, logger *slog.Logger) (storage.Storage, error) {
	return sqlite.Open(ctx, s.File, logger)
}

func (s sqliteSettings) describe() string { return "sqlite3 (" + s.File + ")" }
