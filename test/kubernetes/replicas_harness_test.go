// The replicas harness: several torii servers (server.New) on stores of
// one namespace of one API server, behind a round-robin load balancer; the
// harness and scenarios are internal/replicatest's, shared with test/ha
// (which runs them on PostgreSQL).
package kubernetes_test

import (
	"testing"

	"github.com/torii-idp/torii/internal/replicatest"
	"github.com/torii-idp/torii/storage"
)

// Short names for the internal/replicatest harness kubeflow_test.go uses.

const issuerPath = replicatest.IssuerPath

type (
	replica       = replicatest.Replica
	tokenResponse = replicatest.TokenResponse
)

var newBrowser = replicatest.NewBrowser

// TestReplicas runs the shared scenarios (internal/replicatest) on this
// package's storage.
func TestReplicas(t *testing.T) { replicatest.Run(t, openTwo) }

// openTwo opens two kubernetes stores (each its own client and lock
// holder) on one fresh namespace of the shared API server.
func openTwo(t *testing.T) [2]storage.Storage {
	ns, rules := namespace("replicas"), saRules(t)
	return [2]storage.Storage{openStore(t, shared, ns, rules), openStore(t, shared, ns, rules)}
}

// BenchmarkTokenEndpoint: replicatest.BenchmarkTokenEndpoint on kubernetes
// storage (the in-process API server), against SQLite in the same run:
//
//	cd test/kubernetes && go test -run '^$' -bench TokenEndpoint -benchtime 2s .
func BenchmarkTokenEndpoint(b *testing.B) {
	replicatest.BenchmarkTokenEndpoint(b, "kubernetes", func(b *testing.B) storage.Storage {
		return openStore(b, shared, namespace("bench"), saRules(b))
	})
}
