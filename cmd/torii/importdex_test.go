package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		{"unknown flag", []string{"--force", torii, torii}, 2, "usage: torii import-dex"},
		{"kubernetes", []string{write("k8s.yaml", "storage:\n  type: kubernetes\n  config:\n    inCluster: true\n"), torii}, 1,
			"storage.type: import-dex reads Dex's sqlite3 and postgres storage, not kubernetes"},
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
