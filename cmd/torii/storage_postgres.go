package main

import (
	"context"
	"log/slog"

	"github.com/torii-idp/torii/storage"
	"github.com/torii-idp/torii/storage/postgres"
)

// openPostgres opens the PostgreSQL backend from storage.config.
func openPostgres(ctx context.Context, c PostgresConfig, logger *slog.Logger) (storage.Storage, error) {
	return postgres.Open(ctx, postgresConfig(c), logger)
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
