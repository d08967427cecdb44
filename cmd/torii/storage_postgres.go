package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/torii-idp/torii/storage"
	"github.com/torii-idp/torii/storage/postgres"
)

// open opens the PostgreSQL backend from storage.config.
func (c PostgresConfig) open(ctx context.Context, logger *slog.Logger) (storage.Storage, error) {
	return postgres.Open(ctx, postgresConfig(c), logger)
}

func (c PostgresConfig) describe() string {
	if c.DSN != "" {
		return "postgres (dsn)"
	}
	return fmt.Sprintf("postgres (%s/%s)", c.Host, c.Database)
}

// postgresConfig is the postgres package's form of storage.config.
func postgresConfig(c PostgresConfig) postgres.Config {
	return postgres.Config{
		Host:     c.Host,
		Port:     c.Port,
		Database: c.Database,
		User:     c.User,
		Password: c.Password,
		SSL: postgres.SSL{
			Mode:       c.SSL.Mode,
			CAFile:     c.SSL.CAFile,
			CertFile:   c.SSL.CertFile,
			KeyFile:    c.SSL.KeyFile,
			ServerName: c.SSL.ServerName,
		},
		ConnectionTimeout: c.ConnectionTimeout,
		MaxOpenConns:      c.MaxOpenConns,
		MaxIdleConns:      c.MaxIdleConns,
		ConnMaxLifetime:   c.ConnMaxLifetime,
		DSN:               c.DSN,
	}
}
