package postgres

import (
	"database/sql"

	"github.com/jackc/pgx/v5/stdlib"
)

// OpenReadOnly opens a database/sql handle with c's connection settings
// whose sessions refuse writes (default_transaction_read_only), for tools
// that read another program's tables (torii import-dex reading Dex's).
func OpenReadOnly(c Config) (*sql.DB, error) {
	pc, err := c.poolConfig()
	if err != nil {
		return nil, err
	}
	cc := pc.ConnConfig
	if cc.RuntimeParams == nil {
		cc.RuntimeParams = map[string]string{}
	}
	cc.RuntimeParams["default_transaction_read_only"] = "on"
	db := stdlib.OpenDB(*cc)
	db.SetMaxOpenConns(1)
	return db, nil
}
