package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/torii-idp/torii/internal/dexmigrate"
	"github.com/torii-idp/torii/storage/kubernetes"
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
	switch t := dexStorageType(resolve(storageNode)); t {
	case "etcd", "mysql", "memory":
		return nil, &Problem{File: path, Line: d.lines["storage"], Path: "storage.type",
			Msg: fmt.Sprintf("import-dex reads Dex's sqlite3, postgres and kubernetes storage, not %s", t)}
	case "kubernetes":
		c.Storage = StorageConfig{Type: t, Settings: decodeDexKubernetes(d, storageNode, "storage")}
	default:
		c.decodeStorage(storageNode, "storage")
	}
	if err := errors.Join(d.problems...); err != nil {
		return nil, err
	}
	out.Storage = c.Storage
	return out, nil
}

// decodeDexKubernetes reads Dex's storage block of type kubernetes. It
// takes Dex's keys as Dex has them: crdHandling (whether Dex creates its
// CRDs) does not matter to a reader, which never creates anything.
func decodeDexKubernetes(d *decoder, n *yaml.Node, path string) kubernetesSettings {
	var s kubernetesSettings
	var cfg *yaml.Node
	cfgPath := join(path, "config")
	d.mapping(n, path, fields{
		"type":   func(*yaml.Node, string) {},
		"config": func(n *yaml.Node, p string) { cfg = n },
	}, nil)
	d.mapping(d.expand(cfg, cfgPath), cfgPath, fields{
		"inCluster":      func(n *yaml.Node, p string) { s.InCluster = d.boolean(n, p) },
		"kubeConfigFile": func(n *yaml.Node, p string) { s.KubeConfigFile = d.str(n, p) },
		"crdHandling":    func(n *yaml.Node, p string) { d.oneOf(n, p, "ensure", "check") },
	}, nil)
	if err := s.config().Validate(); err != nil {
		d.at(cfgPath, "%v", err)
	}
	return s
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

// readDexStorage takes the snapshot of Dex's storage, which it only
// reads: SQLite opened read-only and query-only (a missing file is an
// error, never created), PostgreSQL in read-only sessions and one
// read-only transaction, kubernetes with GET requests only. where says
// what was read, for the report.
func readDexStorage(ctx context.Context, s StorageConfig) (snap dexmigrate.Snapshot, where string, err error) {
	switch st := s.Settings.(type) {
	case sqliteSettings, PostgresConfig:
		db, txOpts, err := openDexSQL(st)
		if err != nil {
			return snap, "", err
		}
		defer db.Close()
		snap, err = dexmigrate.Read(ctx, db, txOpts)
		return snap, st.(storageSettings).describe(), err
	case kubernetesSettings:
		objs, err := kubernetes.OpenDexObjects(st.config())
		if err != nil {
			return snap, "", err
		}
		defer objs.Close()
		where = fmt.Sprintf("kubernetes, namespace %s at %s", objs.Namespace(), objs.Server())
		snap, err = dexmigrate.ReadObjects(ctx, objs)
		return snap, where, err
	}
	return snap, "", fmt.Errorf("import-dex reads Dex's sqlite3, postgres and kubernetes storage, not %q", s.Type)
}

func openDexSQL(s any) (*sql.DB, *sql.TxOptions, error) {
	switch st := s.(type) {
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
	return nil, nil, fmt.Errorf("not a SQL storage: %T", s)
}
