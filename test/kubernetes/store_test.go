package kubernetes_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/torii-idp/torii/storage"
	"github.com/torii-idp/torii/storage/kubernetes"
	"github.com/torii-idp/torii/storage/storagetest"
)

// saRules are the rules deploy/base/rbac.yaml grants torii's service
// account: its kinds in dex.coreos.com and create on CRDs.
func saRules(t testing.TB) []rule {
	t.Helper()
	rules, err := manifestRules(filepath.Join(repoRoot(), "deploy", "base", "rbac.yaml"), "Role", "ClusterRole")
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) == 0 {
		t.Fatal("deploy/base/rbac.yaml grants nothing")
	}
	return rules
}

// newToken makes a token that authenticates as user with rules.
func newToken(c *cluster, user string, rules []rule) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	c.authz.grant(tok, user, rules)
	return tok
}

// openStore opens the kubernetes storage on c in namespace ns through a
// kubeconfig whose token has rules; closed in t.Cleanup.
func openStore(t testing.TB, c *cluster, ns string, rules []rule) *kubernetes.Storage {
	t.Helper()
	tok := newToken(c, "system:serviceaccount:"+ns+":torii", rules)
	s, err := kubernetes.Open(context.Background(), kubernetes.Config{KubeConfigFile: c.kubeconfig(t, tok, ns)}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("kubernetes.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestConformance runs the storage conformance suite, unchanged and with
// no skips, with the rights of deploy/base/rbac.yaml only.
func TestConformance(t *testing.T) {
	rules := saRules(t)
	storagetest.Run(t, func(t *testing.T) storage.Storage {
		return openStore(t, shared, namespace("conformance"), rules)
	})
}
