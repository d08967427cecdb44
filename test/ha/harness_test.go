// Package ha_test runs several torii servers on one PostgreSQL database, as
// a highly available deployment does, and checks that they behave as one.
//
// Topology: each replica is server.New on its own connection pool, served
// by its own httptest server. In front of them a small round-robin reverse
// proxy plays the load balancer; the issuer URL is the proxy's, so
// discovery, cookies and redirects look exactly as in production. Tests
// that need a request to land on a given replica address that replica
// directly (same paths, same issuer).
package ha_test

import (
	"context"
	"testing"

	"github.com/torii-idp/torii/internal/replicatest"
	"github.com/torii-idp/torii/internal/testpg"
	"github.com/torii-idp/torii/storage"
	"github.com/torii-idp/torii/storage/postgres"
)

// The harness of internal/replicatest under this package's short names.

const (
	issuerPath   = replicatest.IssuerPath
	clientID     = replicatest.ClientID
	clientSecret = replicatest.ClientSecret
	redirectURI  = replicatest.RedirectURI
	userLogin    = replicatest.UserLogin
	userPassword = replicatest.UserPassword
	janeUserID   = replicatest.JaneUserID
)

type (
	clock         = replicatest.Clock
	users         = replicatest.Users
	deployment    = replicatest.Deployment
	replica       = replicatest.Replica
	option        = replicatest.Option
	tokenResponse = replicatest.TokenResponse
	browser       = replicatest.Browser
	page          = replicatest.Page
)

var (
	newClock      = replicatest.NewClock
	newDeployment = replicatest.NewDeployment
	newBrowser    = replicatest.NewBrowser
	verifyIDToken = replicatest.VerifyIDToken
	unescapeHTML  = replicatest.UnescapeHTML
	formActionRe  = replicatest.FormActionRe
	hiddenRe      = replicatest.HiddenRe
)

// twoReplicas starts two torii servers on openTwo's stores behind one load
// balancer.
func twoReplicas(t *testing.T, clk *clock, opts ...option) (d *deployment, a, b *replica) {
	t.Helper()
	return replicatest.TwoReplicas(t, openTwo, clk, opts...)
}

// TestReplicas runs the shared scenarios (internal/replicatest) on this
// package's storage.
func TestReplicas(t *testing.T) { replicatest.Run(t, openTwo) }

// openTwo opens two stores, each with its own connection pool, on one
// fresh database.
func openTwo(t *testing.T) [2]storage.Storage {
	dsn := testpg.DSN(t)
	return [2]storage.Storage{openPostgres(t, dsn), openPostgres(t, dsn)}
}

// openPostgres opens a postgres Storage on dsn, closed in t.Cleanup.
func openPostgres(t testing.TB, dsn string) *postgres.Storage {
	t.Helper()
	s, err := postgres.Open(context.Background(), postgres.Config{DSN: dsn}, nil)
	if err != nil {
		t.Fatalf("postgres.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkTokenEndpoint: replicatest.BenchmarkTokenEndpoint on PostgreSQL,
// against SQLite in the same run:
//
//	go test -run '^$' -bench TokenEndpoint -benchtime 2s ./test/ha/
func BenchmarkTokenEndpoint(b *testing.B) {
	replicatest.BenchmarkTokenEndpoint(b, "postgres", func(b *testing.B) storage.Storage { return openPostgres(b, testpg.DSN(b)) })
}
