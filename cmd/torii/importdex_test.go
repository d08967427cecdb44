package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/torii-idp/torii/storage"
	"github.com/torii-idp/torii/storage/memory"
)

// The command's own refusals; the import itself runs against the real Dex
// in test/dex.
func TestImportDexCommandErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	torii := write("torii.yaml", "issuer: http://127.0.0.1:5556/dex\nstorage:\n  type: memory\nweb:\n  http: 127.0.0.1:5556\n")
	missing := filepath.Join(dir, "nope", "dex.db")
	tests := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"no args", nil, 2, "usage: torii import-dex"},
		{"one config", []string{torii}, 2, "usage: torii import-dex"},
		{"unknown flag", []string{"--yes", torii, torii}, 2, "usage: torii import-dex"},
		{"etcd", []string{write("etcd.yaml", "storage:\n  type: etcd\n  config:\n    endpoints: [x]\n"), torii}, 1,
			"storage.type: import-dex reads Dex's sqlite3, postgres and kubernetes storage, not etcd"},
		{"kubernetes without a source", []string{write("k8s0.yaml", "storage:\n  type: kubernetes\n  config:\n    crdHandling: check\n"), torii}, 1,
			"storage.config: set inCluster: true or kubeConfigFile"},
		{"kubernetes bad key", []string{write("k8s1.yaml", "storage:\n  type: kubernetes\n  config:\n    inCluster: true\n    namespace: auth\n"), torii}, 1,
			"storage.config.namespace"},
		{"kubernetes bad crdHandling", []string{write("k8s2.yaml", "storage:\n  type: kubernetes\n  config:\n    inCluster: true\n    crdHandling: create\n"), torii}, 1,
			"storage.config.crdHandling"},
		{"kubernetes missing kubeconfig", []string{write("k8s3.yaml", "storage:\n  type: kubernetes\n  config:\n    kubeConfigFile: "+filepath.Join(dir, "nope.kubeconfig")+"\n    crdHandling: ensure\n"), torii}, 1,
			"Dex's kubernetes storage: kubeConfigFile"},
		{"no storage", []string{write("empty.yaml", "issuer: x\n"), torii}, 1, "storage: is required"},
		{"bad storage key", []string{write("bad.yaml", "storage:\n  type: sqlite3\n  config:\n    fil: x\n"), torii}, 1, "storage.config.fil"},
		{"missing file", []string{write("dex.yaml", "storage:\n  type: sqlite3\n  config:\n    file: "+missing+"\n"), torii}, 1, "Dex's SQLite database"},
		{"bad torii config", []string{write("dex2.yaml", "storage:\n  type: sqlite3\n  config:\n    file: x.db\n"), write("t2.yaml", "bogus: 1\n")}, 1, "bogus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), append([]string{"import-dex"}, tt.args...), strings.NewReader(""), &out, &errOut)
			if code != tt.code || !strings.Contains(out.String()+errOut.String(), tt.out) {
				t.Fatalf("exit %d, output %q; want exit %d mentioning %q", code, out.String()+errOut.String(), tt.code, tt.out)
			}
		})
	}
	// Dex's database is never created by a failed import.
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatalf("the missing Dex database was created: %v", err)
	}
}

// importDex at start reads Dex only on a storage torii never ran on.
func TestImportDexAtStart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dexCfg := filepath.Join(dir, "dex.yaml")
	if err := os.WriteFile(dexCfg, []byte("storage:\n  type: sqlite3\n  config:\n    file: "+filepath.Join(dir, "absent.db")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &Config{ImportDex: dexCfg}
	log := slog.New(slog.DiscardHandler)

	store := memory.New()
	if err := c.importDexAtStart(ctx, store, log); err == nil || !strings.Contains(err.Error(), "Dex's SQLite database") {
		t.Fatalf("first start: want the unreadable Dex database reported, got %v", err)
	}
	if err := store.UpdateKeys(ctx, func(k storage.Keys) (storage.Keys, error) { k.Next = []byte("{}"); return k, nil }); err != nil {
		t.Fatal(err)
	}
	if err := c.importDexAtStart(ctx, store, log); err != nil {
		t.Fatalf("a storage already in use must not read Dex again: %v", err)
	}
}

func TestImportDexConfigKey(t *testing.T) {
	_, err := ParseConfig("config.yaml", []byte("importDex:\n  file: x\n"), nil)
	for _, want := range []string{"importDex.file", "importDex.config: is required"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("want %q in %v", want, err)
		}
	}
	c, err := ParseConfig("config.yaml", []byte("importDex:\n  config: /etc/dex/config.yaml\n"), nil)
	if err != nil || c.ImportDex != "/etc/dex/config.yaml" {
		t.Fatalf("%v, %q", err, c.ImportDex)
	}
}
