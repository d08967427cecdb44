package main

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/torii-idp/torii/storage/postgres"
)

// dexSide is what import-dex needs from Dex's config.yaml: where Dex keeps
// its storage and how long its ID tokens live. The rest of Dex's file is
// Dex's business and is not judged here.
type dexSide struct {
	Storage  StorageConfig
	IDTokens time.Duration
}

// loadDexConfig reads the storage and expiry.idTokens keys of a Dex
// config (with Dex's $VAR expansion in the storage block).
func loadDexConfig(path string, lookupEnv func(string) (string, bool)) (*dexSide, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	d := &decoder{file: path, lookup: lookupEnv, lines: map[string]int{}}
	c := &Config{File: path, d: d}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return nil, &Problem{File: path, Line: yamlErrorLine(err), Msg: fmt.Sprintf("invalid YAML: %v", err)}
	}
	root := &yaml.Node{}
	if len(doc.Content) > 0 {
		root = resolve(doc.Content[0])
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Problem{File: path, Line: 1, Msg: "not a Dex config (a YAML mapping with storage:)"}
	}
	out := &dexSide{}
	var storageNode *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i].Value, root.Content[i+1]
		switch k {
		case "storage":
			storageNode = v
			d.lines["storage"] = root.Content[i].Line
		case "expiry":
			out.IDTokens = dexIDTokens(d, resolve(v))
		}
	}
	if storageNode == nil {
		return nil, &Problem{File: path, Line: 1, Path: "storage", Msg: "is required: the Dex storage to import from"}
	}
	if t := dexStorageType(resolve(storageNode)); t == "kubernetes" || t == "etcd" || t == "mysql" || t == "memory" {
		return nil, &Problem{File: path, Line: d.lines["storage"], Path: "storage.type",
			Msg: fmt.Sprintf("import-dex reads Dex's sqlite3 and postgres storage, not %s", t)}
	}
	c.decodeStorage(storageNode, "storage")
	if err := errors.Join(d.problems...); err != nil {
		return nil, err
	}
	out.Storage = c.Storage
	return out, nil
}

func dexStorageType(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "type" {
			return n.Content[i+1].Value
		}
	}
	return ""
}

// dexIDTokens reads expiry.idTokens (zero when unset: Dex's default).
func dexIDTokens(d *decoder, n *yaml.Node) time.Duration {
	if n == nil || n.Kind != yaml.MappingNode {
		return 0
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "idTokens" {
			return d.duration(n.Content[i+1], "expiry.idTokens")
		}
	}
	return 0
}

// openDexStorage opens Dex's database so that it cannot be written: SQLite
// read-only and query-only (a missing file is an error, never created),
// PostgreSQL with sessions in read-only mode. It returns the transaction
// options the snapshot is read with.
func openDexStorage(s StorageConfig) (*sql.DB, *sql.TxOptions, error) {
	switch st := s.Settings.(type) {
	case sqliteSettings:
		abs, err := filepath.Abs(st.File)
		if err != nil {
			return nil, nil, err
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, nil, fmt.Errorf("Dex's SQLite database: %w", err)
		}
		u := url.URL{Scheme: "file", Path: abs, RawQuery: "mode=ro&_pragma=query_only(1)&_pragma=busy_timeout(5000)"}
		db, err := sql.Open("sqlite", u.String())
		if err != nil {
			return nil, nil, err
		}
		return db, &sql.TxOptions{}, nil
	case PostgresConfig:
		db, err := postgres.OpenReadOnly(postgresConfig(st))
		if err != nil {
			return nil, nil, err
		}
		return db, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}, nil
	}
	return nil, nil, fmt.Errorf("import-dex reads Dex's sqlite3 and postgres storage, not %q", s.Type)
}
