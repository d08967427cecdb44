// Package kubernetes_test runs torii's kubernetes storage against a real
// API server: etcd and k8s.io/apiextensions-apiserver, started in this
// process by TestMain (no binaries to download). Authentication and
// authorization are delegated, as in a cluster, to a small webhook
// (authz_test.go) that evaluates the RBAC rules of deploy/base/rbac.yaml,
// so the tests run with exactly the rights torii's manifests grant.
package kubernetes_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	apiserver "k8s.io/apiextensions-apiserver/pkg/cmd/server/testing"
)

// cluster is one API server on its own etcd key prefix.
type cluster struct {
	host, port string // 127.0.0.1 and the secure port
	caFile     string // the serving certificate's CA bundle
	authz      *authz
	stop       func()
}

// shared is the API server most tests share (each store in a namespace of
// its own); etcdURL is the embedded etcd's client URL.
var (
	shared  *cluster
	etcdURL string
	workDir string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	workDir, err = os.MkdirTemp("", "torii-k8s-test-")
	if err != nil {
		log.Print(err)
		return 1
	}
	defer os.RemoveAll(workDir)
	stopEtcd, err := startEtcd(filepath.Join(workDir, "etcd"))
	if err != nil {
		log.Printf("etcd: %v", err)
		return 1
	}
	defer stopEtcd()
	shared, err = startCluster()
	if err != nil {
		log.Printf("apiextensions-apiserver: %v", err)
		return 1
	}
	defer shared.stop()
	return m.Run()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startEtcd runs one etcd member in dir on free loopback ports.
func startEtcd(dir string) (func(), error) {
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cfg.UnsafeNoFsync = true
	cfg.LogLevel = "error"
	cp, err := freePort()
	if err != nil {
		return nil, err
	}
	pp, err := freePort()
	if err != nil {
		return nil, err
	}
	cu := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", cp)}
	pu := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", pp)}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(time.Minute):
		e.Close()
		return nil, fmt.Errorf("etcd did not become ready")
	}
	etcdURL = cu.String()
	return e.Close, nil
}

// logger is the API server's test logger (StartTestServer wants one).
type logger struct{}

func (logger) Errorf(f string, a ...any) { log.Printf("apiserver: "+f, a...) }
func (logger) Fatalf(f string, a ...any) { log.Fatalf("apiserver: "+f, a...) }
func (logger) Logf(string, ...any)       {}

var clusterSeq atomic.Int64

// startCluster starts an apiextensions-apiserver on a fresh etcd prefix
// (so nothing of another cluster, CRDs included, is there), delegating
// authentication and authorization to a new webhook.
func startCluster() (*cluster, error) {
	az, err := newAuthz()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(workDir, fmt.Sprintf("cluster-%d", clusterSeq.Add(1)))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	webhookKC := filepath.Join(dir, "webhook.kubeconfig")
	if err := os.WriteFile(webhookKC, []byte(az.kubeconfig()), 0o600); err != nil {
		return nil, err
	}
	// --kubeconfig is for the core API (admission, informers), which this
	// server does not serve and which the tests disable.
	unusedKC := filepath.Join(dir, "unused.kubeconfig")
	if err := os.WriteFile(unusedKC, []byte(strings.ReplaceAll(az.kubeconfig(), az.url, "http://127.0.0.1:1")), 0o600); err != nil {
		return nil, err
	}
	prefix := make([]byte, 8)
	_, _ = rand.Read(prefix)
	s, err := apiserver.StartTestServer(logger{}, nil, []string{
		"--etcd-prefix", "/" + hex.EncodeToString(prefix),
		"--etcd-servers", etcdURL,
		"--authentication-skip-lookup",
		"--authentication-kubeconfig", webhookKC,
		"--authentication-token-webhook-cache-ttl", "0s",
		"--authorization-kubeconfig", webhookKC,
		"--authorization-webhook-cache-authorized-ttl", "0s",
		"--authorization-webhook-cache-unauthorized-ttl", "0s",
		"--kubeconfig", unusedKC,
		"--enable-priority-and-fairness=false",
		"--disable-admission-plugins", "NamespaceLifecycle,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy,MutatingAdmissionPolicy",
	}, nil)
	if err != nil {
		az.close()
		return nil, err
	}
	c := &cluster{host: "127.0.0.1", port: fmt.Sprint(s.ServerOpts.RecommendedOptions.SecureServing.BindPort), authz: az}
	// The serving certificate comes from the test server's fixtures: its
	// file holds the certificate and the CA that signed it.
	c.caFile = filepath.Join(s.ServerOpts.RecommendedOptions.SecureServing.ServerCert.FixtureDirectory, "localhost_127.0.0.1_localhost.crt")
	c.stop = func() {
		s.TearDownFn()
		az.close()
	}
	return c, nil
}

// url is the API server's base URL.
func (c *cluster) url() string { return "https://" + net.JoinHostPort(c.host, c.port) }

// kubeconfig writes a kubeconfig for token in namespace and returns its path.
func (c *cluster) kubeconfig(t testing.TB, token, namespace string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
current-context: torii
contexts:
- name: torii
  context: {cluster: test, user: torii, namespace: %s}
clusters:
- name: test
  cluster: {server: %q, certificate-authority: %q}
users:
- name: torii
  user: {token: %q}
`, namespace, c.url(), c.caFile, token)
	if err := os.WriteFile(p, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var nsSeq atomic.Int64

// namespace is a fresh namespace name: an empty store.
func namespace(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, nsSeq.Add(1))
}
