package main

import (
	"context"
	"log/slog"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/torii-idp/torii/connector/static"
	"github.com/torii-idp/torii/server"
	"github.com/torii-idp/torii/storage"
)

// The connector-type registry: the Dex `type` string of a connector entry
// names a factory that decodes its config block strictly, validates it and
// opens the connector. Adding a connector type is one package and one line
// in connectorTypes.

// connectorEnv is what a factory may use besides the config block.
type connectorEnv struct {
	ID     string
	Config *yaml.Node // the config block, environment variables expanded (nil without one)
	Logger *slog.Logger
	// Callback is where upstream providers send the browser back: the
	// issuer followed by /callback.
	Callback string
	// Passwords holds the password database's users created through the
	// admin API (nil for check-config).
	Passwords storage.PasswordStore
	// Users are the staticPasswords of the config (the local type only).
	Users []static.User
}

// connectorType is one registry entry.
type connectorType struct {
	// open decodes, validates and opens. It must not reach the network:
	// check-config calls it for every connector.
	open func(ctx context.Context, env connectorEnv) (server.Connector, error)
	// listed is false for types that are not written in connectors: (the
	// password database is switched on by enablePasswordDB).
	listed bool
}

// connectorTypes is the registry main passes to the config code.
func connectorTypes() map[string]connectorType {
	return map[string]connectorType{
		"ldap":  {open: openLDAP, listed: true},
		"oidc":  {open: openOIDC, listed: true},
		"local": {open: openPasswordDB},
	}
}

// listedTypes names the types a connectors: entry may have, for messages.
func listedTypes(types map[string]connectorType) string {
	var names []string
	for name, t := range types {
		if t.listed {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// openPasswordDB is the "local" connector: staticPasswords plus the users
// kept in storage.
func openPasswordDB(_ context.Context, env connectorEnv) (server.Connector, error) {
	db, err := static.NewDB(env.Users, env.Passwords)
	if err != nil {
		return server.Connector{}, err
	}
	// Dex names its password database connector "Email".
	return server.Connector{ID: static.ID, Type: "local", Name: "Email", Password: db, Refresh: db}, nil
}
