package dextest

import (
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"
)

// dexTables are every table Dex v2.45 keeps.
var dexTables = []string{"auth_code", "auth_request", "client", "connector", "device_request", "device_token", "keys", "migrations", "offline_session", "password", "refresh_token"}

// dumpDex renders every row of Dex's tables, to show the import left them
// as they were.
func dumpDex(t *testing.T, storageBlock map[string]any) string {
	t.Helper()
	cfg := storageBlock["config"].(map[string]any)
	var b strings.Builder
	switch storageBlock["type"] {
	case "sqlite3":
		u := url.URL{Scheme: "file", Path: cfg["file"].(string), RawQuery: "mode=ro"}
		db, err := sql.Open("sqlite", u.String())
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, table := range dexTables {
			rows, err := db.QueryContext(t.Context(), "select * from "+table+" order by 1")
			if err != nil {
				t.Fatalf("dump %s: %v", table, err)
			}
			cols, _ := rows.Columns()
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&b, "%s: %v\n", table, vals)
			}
			rows.Close()
		}
	case "postgres":
		dsn := fmt.Sprintf("host=%s port=%d dbname=%s user=%s sslmode=disable", cfg["host"], cfg["port"], cfg["database"], cfg["user"])
		if pw, ok := cfg["password"]; ok {
			dsn += fmt.Sprintf(" password=%s", pw)
		}
		conn, err := pgx.Connect(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(t.Context())
		for _, table := range dexTables {
			rows, err := conn.Query(t.Context(), "select * from "+table+" order by 1")
			if err != nil {
				t.Fatalf("dump %s: %v", table, err)
			}
			for rows.Next() {
				vals, err := rows.Values()
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&b, "%s: %v\n", table, vals)
			}
			rows.Close()
		}
	}
	return b.String()
}
