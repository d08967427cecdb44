// Package kubernetes is a storage.Storage kept in custom resources of the
// Kubernetes API server, for several replicas in a cluster without a
// database (Dex's storage type kubernetes).
//
// torii uses its own kinds in Dex's API group dex.coreos.com (plurals
// toriiauthcodes, toriirefreshtokens, ...; see Plurals), so the RBAC Dex's
// deployments grant (dex.coreos.com/*) suffices, and torii never reads or
// writes one of Dex's objects: a rollback to Dex finds Dex's data as it
// left it. Objects are named by the SHA-256 of their ID. Updates are
// optimistic (resourceVersion, conflicts retried); a token family is
// deleted with one label-selected deletecollection.
//
// The client is a small REST client over net/http: no client-go.
package kubernetes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/torii-idp/torii/storage"
)

// Storage is the kubernetes backend.
type Storage struct {
	c         *client
	namespace string
	logger    *slog.Logger
	now       func() time.Time
	holder    string
}

var _ storage.Storage = (*Storage)(nil)

// Open connects to the API server, makes sure torii's CRDs are there
// (creating the missing ones when allowed) and returns the store.
func Open(ctx context.Context, cfg Config, logger *slog.Logger) (*Storage, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	conn, err := cfg.connect()
	if err != nil {
		return nil, fmt.Errorf("kubernetes storage: %w", err)
	}
	s := &Storage{c: conn.client, namespace: conn.namespace, logger: logger, now: cfg.Now, holder: cfg.Holder}
	if s.now == nil {
		s.now = time.Now
	}
	if s.holder == "" {
		host, _ := os.Hostname()
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		s.holder = host + "-" + hex.EncodeToString(b)
	}
	if err := s.ensureCRDs(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Namespace is where the store keeps its objects.
func (s *Storage) Namespace() string { return s.namespace }

// Close releases idle connections.
func (s *Storage) Close() error {
	s.c.http.CloseIdleConnections()
	return nil
}

// Ping lists at most one signing-key object: the API server is reachable,
// torii's CRDs are served and its service account may read them.
func (s *Storage) Ping(ctx context.Context) error {
	r := resources[storage.Keys]{s, pluralKeys}
	return s.c.do(ctx, "ping", http.MethodGet, r.path(""), url.Values{"limit": {"1"}}, nil, nil)
}

func (s *Storage) authRequests() resources[storage.AuthRequest] {
	return resources[storage.AuthRequest]{s, pluralAuthRequests}
}
func (s *Storage) authCodes() resources[storage.AuthCode] {
	return resources[storage.AuthCode]{s, pluralAuthCodes}
}
func (s *Storage) refreshTokens() resources[storage.RefreshToken] {
	return resources[storage.RefreshToken]{s, pluralRefreshTokens}
}
func (s *Storage) revokedGrants() resources[revokedGrant] {
	return resources[revokedGrant]{s, pluralRevokedGrants}
}
func (s *Storage) keys() resources[storage.Keys] { return resources[storage.Keys]{s, pluralKeys} }
func (s *Storage) clients() resources[storage.Client] {
	return resources[storage.Client]{s, pluralClients}
}
func (s *Storage) passwords() resources[storage.Password] {
	return resources[storage.Password]{s, pluralPasswords}
}
func (s *Storage) sessions() resources[storage.Session] {
	return resources[storage.Session]{s, pluralSessions}
}
func (s *Storage) throttles() resources[throttleRecord] {
	return resources[throttleRecord]{s, pluralThrottles}
}
func (s *Storage) locks() resources[lockRecord] { return resources[lockRecord]{s, pluralLocks} }
