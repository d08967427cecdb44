package main

import (
	"slices"

	"gopkg.in/yaml.v3"
)

func (c *Config) decodeStorage(n *yaml.Node, path string) {
	d := c.d
	n = resolve(n)
	if isNull(n) {
		return
	}
	var cfg *yaml.Node
	var cfgPath string
	d.mapping(n, path, fields{
		"type":   func(n *yaml.Node, p string) { c.Storage.Type = d.str(n, p) },
		"config": func(n *yaml.Node, p string) { cfg, cfgPath = n, p },
	}, nil)
	if cfgPath == "" {
		cfgPath = join(path, "config")
	}
	types := storageTypes()
	typePath := join(path, "type")
	t := c.Storage.Type
	decode, ok := types[t]
	switch {
	case t == "":
		d.at(typePath, "is required (%s)", storageTypeNames(types))
	case ok:
		c.Storage.Settings = decode(d, d.expand(cfg, cfgPath), cfgPath)
	case slices.Contains(unsupportedStorage, t):
		d.at(typePath, "torii does not support %s storage (use sqlite3 for one replica; postgres or kubernetes for several)", t)
	default:
		d.at(typePath, "unknown storage type %q (%s)", t, storageTypeNames(types))
	}
}

// decodePostgresStorage is the registry's postgres entry.
func decodePostgresStorage(d *decoder, n *yaml.Node, path string) storageSettings {
	var pg PostgresConfig
	decodePostgres(d, &pg, n, path)
	return pg
}

func decodePostgres(d *decoder, pg *PostgresConfig, n *yaml.Node, path string) {
	d.mapping(n, path, fields{
		"host":     func(n *yaml.Node, p string) { pg.Host = d.str(n, p) },
		"port":     func(n *yaml.Node, p string) { pg.Port = d.integer(n, p) },
		"database": func(n *yaml.Node, p string) { pg.Database = d.str(n, p) },
		"user":     func(n *yaml.Node, p string) { pg.User = d.str(n, p) },
		"password": func(n *yaml.Node, p string) { pg.Password = d.str(n, p) },
		"ssl": func(n *yaml.Node, p string) {
			d.mapping(n, p, fields{
				"mode": func(n *yaml.Node, p string) {
					pg.SSL.Mode = d.oneOf(n, p, "disable", "allow", "prefer", "require", "verify-ca", "verify-full")
				},
				"caFile":     func(n *yaml.Node, p string) { pg.SSL.CAFile = d.str(n, p) },
				"certFile":   func(n *yaml.Node, p string) { pg.SSL.CertFile = d.str(n, p) },
				"keyFile":    func(n *yaml.Node, p string) { pg.SSL.KeyFile = d.str(n, p) },
				"serverName": func(n *yaml.Node, p string) { pg.SSL.ServerName = d.str(n, p) },
			}, nil)
		},
		"connectionTimeout": func(n *yaml.Node, p string) { pg.ConnectionTimeout = d.seconds(n, p) },
		"maxOpenConns":      func(n *yaml.Node, p string) { pg.MaxOpenConns = d.nonNegative(n, p) },
		"maxIdleConns":      func(n *yaml.Node, p string) { pg.MaxIdleConns = d.nonNegative(n, p) },
		"connMaxLifetime":   func(n *yaml.Node, p string) { pg.ConnMaxLifetime = d.seconds(n, p) },
		"dsn":               func(n *yaml.Node, p string) { pg.DSN = d.str(n, p) },
	}, nil)
	if pg.Port < 0 || pg.Port > 65535 {
		d.at(join(path, "port"), "%d is not a TCP port", pg.Port)
	}
	if pg.DSN != "" {
		for _, k := range []string{"host", "port", "database", "user", "password", "ssl"} {
			if _, set := d.lines[join(path, k)]; set {
				d.at(join(path, k), "set either dsn or %s, not both", k)
			}
		}
	} else {
		if pg.Host == "" {
			d.at(join(path, "host"), "is required for postgres storage (or dsn)")
		}
		if pg.Database == "" {
			d.at(join(path, "database"), "is required for postgres storage (or dsn)")
		}
	}
}

func (d *decoder) nonNegative(n *yaml.Node, path string) int {
	v := d.integer(n, path)
	if v < 0 {
		d.errorf(n, path, "must not be negative")
		return 0
	}
	return v
}
