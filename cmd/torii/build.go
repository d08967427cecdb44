package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/connector"
	"github.com/torii-idp/torii/connector/static"
	"github.com/torii-idp/torii/server"
	"github.com/torii-idp/torii/storage"
)

// newLogger builds the logger of the logger block, writing to w, at the
// level of lv (set to logger.level; a reload changes it). Lines logged with
// a request's context carry its request_id.
func (c *Config) newLogger(w io.Writer, lv *slog.LevelVar) *slog.Logger {
	lv.Set(c.Logger.Level)
	opts := &slog.HandlerOptions{Level: lv}
	if c.Logger.Format == "json" {
		return slog.New(audit.LogHandler(slog.NewJSONHandler(w, opts)))
	}
	return slog.New(audit.LogHandler(slog.NewTextHandler(w, opts)))
}

// openStorage opens the configured backend.
func (c *Config) openStorage(ctx context.Context, logger *slog.Logger) (storage.Storage, error) {
	if c.Storage.Settings == nil {
		return nil, fmt.Errorf("storage type %q is not supported", c.Storage.Type)
	}
	return c.Storage.Settings.open(ctx, logger)
}

// openConnectors builds every connector, in login-page order. On error the
// connectors already opened are closed. Each problem names its config path.
// passwords (nil for check-config) holds the password database's users
// created through the admin API.
func (c *Config) openConnectors(ctx context.Context, logger *slog.Logger, passwords storage.PasswordStore) ([]server.Connector, error) {
	types := c.types
	if types == nil {
		types = connectorTypes()
	}
	var out []server.Connector
	var errs []error
	for _, cc := range c.Connectors {
		t, ok := types[cc.Type]
		if !ok || !t.listed {
			errs = append(errs, &Problem{File: c.File, Line: cc.Line, Path: cc.Path, Msg: fmt.Sprintf("connector type %q is not supported", cc.Type)})
			continue
		}
		conn, err := t.open(ctx, connectorEnv{ID: cc.ID, Config: cc.Config, Logger: logger.With("connector", cc.ID), Passwords: passwords,
			Callback: strings.TrimSuffix(c.Issuer, "/") + "/callback"})
		if err != nil {
			errs = append(errs, c.connectorProblems(cc, err)...)
			continue
		}
		conn.ID, conn.Type, conn.Name = cc.ID, cc.Type, cc.Name
		if conn.Name == "" {
			conn.Name = cc.ID
		}
		out = append(out, conn)
	}
	if c.EnablePasswordDB {
		db, err := types["local"].open(ctx, connectorEnv{ID: static.ID, Logger: logger, Passwords: passwords, Users: c.Users})
		if err != nil {
			errs = append(errs, &Problem{File: c.File, Line: c.d.lineOf("staticPasswords"), Path: "staticPasswords", Msg: err.Error()})
		} else {
			out = append(out, db)
		}
	}
	if err := errors.Join(errs...); err != nil {
		closeConnectors(out, logger)
		return nil, err
	}
	return out, nil
}

// connectorProblems turns a connector's error into problems, one per joined
// error, using the "line N: " prefix a connector may put on a message.
func (c *Config) connectorProblems(cc ConnectorConfig, err error) []error {
	path := cc.Path + ".config"
	var out []error
	for _, e := range flatten(err) {
		line, msg := c.d.lineOf(path), e.Error()
		if rest, ok := strings.CutPrefix(msg, "line "); ok {
			num, after, found := strings.Cut(rest, ": ")
			if n, err := strconv.Atoi(num); found && err == nil && n > 0 {
				line, msg = n, after
			}
		}
		out = append(out, &Problem{File: c.File, Line: line, Path: path, Msg: msg})
	}
	return out
}

// closeConnectors closes the connectors holding resources (LDAP pools).
func closeConnectors(conns []server.Connector, logger *slog.Logger) {
	for _, cn := range conns {
		var cl connector.Closer
		if c, ok := cn.Password.(connector.Closer); ok {
			cl = c
		} else if c, ok := cn.Callback.(connector.Closer); ok {
			cl = c
		} else if c, ok := cn.Refresh.(connector.Closer); ok {
			cl = c
		}
		if cl != nil {
			if err := cl.Close(); err != nil {
				logger.Warn("closing connector", "connector", cn.ID, "err", err)
			}
		}
	}
}

// serverConfig is the server.Config for the given storage and connectors.
func (c *Config) serverConfig(store storage.Storage, conns []server.Connector, logger *slog.Logger) server.Config {
	exp := c.Expiry
	if c.KeysRotationPeriod > 0 {
		exp.SigningKeys = c.KeysRotationPeriod
	}
	return server.Config{
		Issuer:                   c.Issuer,
		Storage:                  store,
		Connectors:               conns,
		Clients:                  c.Clients,
		PasswordConnector:        c.OAuth2.PasswordConnector,
		GrantTypes:               c.OAuth2.GrantTypes,
		ResponseTypes:            c.OAuth2.ResponseTypes,
		SkipApprovalScreen:       c.OAuth2.SkipApprovalScreen,
		AlwaysShowLoginScreen:    c.OAuth2.AlwaysShowLoginScreen,
		PKCEMethods:              c.OAuth2.PKCEMethods,
		Expiry:                   exp,
		SigningAlgorithm:         c.SigningAlgorithm,
		Headers:                  c.Web.Headers,
		AllowedOrigins:           c.Web.AllowedOrigins,
		ClientIP:                 c.Web.ClientIP,
		Web:                      c.Frontend,
		Throttle:                 c.Throttle,
		Sessions:                 c.Sessions,
		PromptNoneWithoutSession: c.OAuth2.PromptNoneWithoutSession,
		Kubeconfig:               c.Kubeconfig,
		Logger:                   logger,
	}
}

// lookupEnv is the process environment, handed to LoadConfig by main (the
// config code itself never reads the environment).
func lookupEnv(name string) (string, bool) { return os.LookupEnv(name) }
