package main

import (
	"context"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/torii-idp/torii/internal/testpg"
)

// TestOpenStorage opens every backend from a config file and pings it;
// postgres runs against a real server (skipped when none is available).
func TestOpenStorage(t *testing.T) {
	dir := t.TempDir()
	head := "issuer: http://127.0.0.1:5556/dex\nweb:\n  http: 127.0.0.1:5556\n"
	tests := []struct {
		name string
		yaml func(t *testing.T) (string, map[string]string)
		file string // a file the backend must have created
	}{
		{name: "memory", yaml: func(t *testing.T) (string, map[string]string) {
			return head + "storage:\n  type: memory\n", nil
		}},
		{name: "sqlite3 with env expansion", file: filepath.Join(dir, "sub", "torii.db"), yaml: func(t *testing.T) (string, map[string]string) {
			return head + "storage:\n  type: sqlite3\n  config:\n    file: ${DATA}/sub/torii.db\n", map[string]string{"DATA": dir}
		}},
		{name: "postgres fields", yaml: func(t *testing.T) (string, map[string]string) {
			u, err := url.Parse(testpg.DSN(t))
			if err != nil {
				t.Fatal(err)
			}
			pw, _ := u.User.Password()
			return head + `storage:
  type: postgres
  config:
    host: $PGHOST
    port: $PGPORT
    database: ` + u.Path[1:] + `
    user: ` + u.User.Username() + `
    password: "$PGPASSWORD"
    ssl:
      mode: disable
    connectionTimeout: 5
    maxOpenConns: 4
    connMaxLifetime: 10m
`, map[string]string{"PGHOST": u.Hostname(), "PGPORT": u.Port(), "PGPASSWORD": pw}
		}},
		{name: "postgres dsn", yaml: func(t *testing.T) (string, map[string]string) {
			return head + "storage:\n  type: postgres\n  config:\n    dsn: ${PG_DSN}\n", map[string]string{"PG_DSN": testpg.DSN(t)}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml, vars := tt.yaml(t)
			c, err := parse(t, yaml, vars)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			s, err := c.openStorage(ctx, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Ping(ctx); err != nil {
				t.Fatal(err)
			}
			if tt.file != "" {
				if _, err := os.Stat(tt.file); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
