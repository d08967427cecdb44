// Package adminapi is Dex's gRPC API (service api.Dex of
// github.com/dexidp/dex/api/v2) on torii's storage: clients, passwords,
// refresh tokens, version and discovery. The generated types come from
// Dex's published module, so the wire format is Dex's.
//
// Answers follow Dex's server: bad requests are plain errors (gRPC code
// Unknown, Dex's messages), a missing or duplicate record is a flag in the
// response (not_found, already_exists), and static clients and passwords
// (from the config) cannot be changed. Where torii differs — hashed client
// secrets, a refresh-token family per login — docs/admin-api.md says so.
package adminapi

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"time"

	api "github.com/dexidp/dex/api/v2"
	"google.golang.org/grpc"

	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/connector/static"
	"github.com/torii-idp/torii/server"
	"github.com/torii-idp/torii/storage"
)

// apiVersion is GetVersion's api field: Dex master's number (4), which
// counts the calls added to api.Dex, the session calls torii serves among
// them (the v2.4.0 release answered 2).
const apiVersion = 4

// Config is what the service needs.
type Config struct {
	Storage storage.Storage
	// StaticClients and StaticPasswords are the config file's staticClients
	// and staticPasswords: listed and readable, never changed.
	StaticClients   []server.Client
	StaticPasswords []static.User
	// Issuer and Handler serve GetDiscovery: the document is fetched from
	// the server's own /.well-known/openid-configuration.
	Issuer  string
	Handler http.Handler
	// ConnectorIDs are the connectors running now (they change with a
	// config reload): the session methods look for a user's sessions on
	// each.
	ConnectorIDs func() []string
	// Version is GetVersion's server field.
	Version string
	// RevokeFor is how long a revoked grant is remembered so that access
	// tokens it issued are refused (the ID token lifetime).
	RevokeFor time.Duration
	// EndSession ends a session as a logout does, back-channel logout
	// notices included (server.Server.EndSession). nil: the session and its
	// families are ended (usergrants.EndSession) but no notice is sent.
	EndSession func(ctx context.Context, s storage.Session) (ended bool, err error)
	Logger     *slog.Logger
	// Audit records every change as an admin_change event (nil: none).
	Audit *audit.Logger
	Now   func() time.Time
}

// Service implements api.DexServer. Connector CRUD is not implemented
// (Dex gates it behind DEX_API_CONNECTORS_CRUD; torii's connectors live in
// the config), so those methods answer Unimplemented.
type Service struct {
	api.UnimplementedDexServer
	c         Config
	clients   map[string]server.Client
	passwords map[string]static.User // by static.NormalizeEmail
	schema    *schema                // the session messages (Dex master's)
}

var _ api.DexServer = (*Service)(nil)

// New builds the service.
func New(c Config) *Service {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.RevokeFor <= 0 {
		c.RevokeFor = 24 * time.Hour
	}
	sc, err := newSchema()
	if err != nil {
		// Built from the compiled-in api/v2 descriptor: only a change of
		// that module can fail it, and every test would.
		panic(err)
	}
	s := &Service{c: c, clients: map[string]server.Client{}, passwords: map[string]static.User{}, schema: sc}
	for _, cl := range c.StaticClients {
		s.clients[cl.ID] = cl
	}
	for _, u := range c.StaticPasswords {
		u.Groups = slices.Clone(u.Groups)
		s.passwords[static.NormalizeEmail(u.Email)] = u
	}
	return s
}

// Register adds the service to a gRPC server: api.Dex of v2.4.0 and the
// session methods of Dex master, as one service.
func (s *Service) Register(g *grpc.Server) { g.RegisterService(s.serviceDesc(), s) }

// audit logs a change made through the API (never a secret or a hash) and
// records it as an admin_change event; msg is a fixed phrase.
func (s *Service) audit(ctx context.Context, msg string, args ...any) {
	s.c.Logger.InfoContext(ctx, "admin api: "+msg, args...)
	rec := audit.Record{Event: audit.AdminChange, Detail: msg}
	for i := 0; i+1 < len(args); i += 2 {
		if k, _ := args[i].(string); k == "client_id" {
			rec.ClientID, _ = args[i+1].(string)
		}
	}
	s.c.Audit.Log(ctx, rec)
}
