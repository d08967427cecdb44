package kubernetes_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/torii-idp/torii/storage"
	"github.com/torii-idp/torii/storage/kubernetes"
)

// serviceAccountDir fakes a pod's service account files for token in ns.
func serviceAccountDir(t *testing.T, c *cluster, token, ns string) string {
	t.Helper()
	dir := t.TempDir()
	ca, err := os.ReadFile(c.caFile)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"ca.crt": ca, "token": []byte(token), "namespace": []byte(ns + "\n")} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestInCluster: inCluster: true with the pod's files (here in a temp dir)
// reaches the API server, uses the service account's namespace unless
// KUBERNETES_POD_NAMESPACE says otherwise, and follows a rotated token.
func TestInCluster(t *testing.T) {
	ctx := context.Background()
	ns := namespace("incluster")
	rules := saRules(t)
	first := newToken(shared, "system:serviceaccount:"+ns+":torii", rules)
	dir := serviceAccountDir(t, shared, first, ns)
	env := map[string]string{"KUBERNETES_SERVICE_HOST": shared.host, "KUBERNETES_SERVICE_PORT": shared.port}
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	cfg := kubernetes.Config{InCluster: true, ServiceAccountDir: dir, Now: clock,
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	s, err := kubernetes.Open(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Namespace() != ns {
		t.Errorf("namespace %q, want the service account's %q", s.Namespace(), ns)
	}
	if err := s.CreateAuthRequest(ctx, storage.AuthRequest{ID: "r1", Expiry: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}

	// The kubelet replaces the token; the old one stops working.
	second := newToken(shared, "system:serviceaccount:"+ns+":torii", rules)
	p := filepath.Join(dir, "token")
	if err := os.WriteFile(p, []byte(second), 0o600); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	_ = os.Chtimes(p, later, later)
	shared.authz.revoke(first)
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	if _, err := s.GetAuthRequest(ctx, "r1"); err != nil {
		t.Fatalf("after the token rotated: %v", err)
	}
	if shared.authz.used(second) == 0 {
		t.Error("the rotated token was never presented")
	}

	env["KUBERNETES_POD_NAMESPACE"] = ns + "-env"
	s2, err := kubernetes.Open(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if s2.Namespace() != ns+"-env" {
		t.Errorf("namespace %q, want KUBERNETES_POD_NAMESPACE's", s2.Namespace())
	}
	if _, err := s2.GetAuthRequest(ctx, "r1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("another namespace sees the first one's objects: %v", err)
	}
}

// TestUnauthenticated: a token the API server does not accept is a clear
// error at start, not a crash or a hang.
func TestUnauthenticated(t *testing.T) {
	_, err := kubernetes.Open(context.Background(), kubernetes.Config{KubeConfigFile: shared.kubeconfig(t, "not-a-token", "x")}, nil)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("Open with a bad token: %v; want a 401 error", err)
	}
}

// proxy is a TCP relay to the API server that can be cut and restored
// (an outage of the API server as its clients see it).
type proxy struct {
	target string
	mu     sync.Mutex
	ln     net.Listener
	addr   string
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{target: target}
	p.start(t, "127.0.0.1:0")
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) start(t *testing.T, addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); u.Close() }()
			go func() { _, _ = io.Copy(c, u); c.Close() }()
		}
	}()
}

func (p *proxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestOutage: with the API server unreachable every call is
// storage.ErrUnavailable (503 and not ready), and the same store works
// again once it is back, without a restart.
func TestOutage(t *testing.T) {
	ctx := context.Background()
	ns := namespace("outage")
	p := newProxy(t, net.JoinHostPort(shared.host, shared.port))
	c := *shared
	c.host, c.port, _ = net.SplitHostPort(p.addr)
	s := openStore(t, &c, ns, saRules(t))
	if err := s.CreateAuthRequest(ctx, storage.AuthRequest{ID: "r1", Expiry: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	p.stop()
	short, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := s.Ping(short); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Ping during the outage: %v; want ErrUnavailable", err)
	}
	if _, err := s.GetAuthRequest(short, "r1"); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("GetAuthRequest during the outage: %v; want ErrUnavailable", err)
	}
	p.start(t, p.addr)
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping after the outage: %v", err)
	}
	if _, err := s.GetAuthRequest(ctx, "r1"); err != nil {
		t.Errorf("GetAuthRequest after the outage: %v", err)
	}
}

// TestCRDBootstrap, on an API server of its own with no CRDs: without the
// right to create CRDs, Open names every missing CRD and the rule to
// grant; with deploy/base/rbac.yaml's rights it creates them; after that
// the narrower rights suffice.
func TestCRDBootstrap(t *testing.T) {
	c, err := startCluster()
	if err != nil {
		t.Fatal(err)
	}
	defer c.stop()
	ctx := context.Background()
	namespaced, err := manifestRules(filepath.Join(repoRoot(), "deploy", "base", "rbac.yaml"), "Role")
	if err != nil {
		t.Fatal(err)
	}
	noCRD := newToken(c, "system:serviceaccount:bootstrap:torii", namespaced)
	_, err = kubernetes.Open(ctx, kubernetes.Config{KubeConfigFile: c.kubeconfig(t, noCRD, "bootstrap")}, nil)
	if err == nil {
		t.Fatal("Open without CRDs and without the right to create them succeeded")
	}
	for _, want := range append(kubernetes.Plurals(), "create on customresourcedefinitions", "deploy/base/crds") {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %q:\n%v", want, err)
		}
	}
	s := openStore(t, c, "bootstrap", saRules(t))
	if err := s.CreateClient(ctx, storage.Client{ID: "app"}); err != nil {
		t.Fatal(err)
	}
	s2, err := kubernetes.Open(ctx, kubernetes.Config{KubeConfigFile: c.kubeconfig(t, noCRD, "bootstrap")}, nil)
	if err != nil {
		t.Fatalf("Open once the CRDs exist, without the right to create them: %v", err)
	}
	defer s2.Close()
	if _, err := s2.GetClient(ctx, "app"); err != nil {
		t.Error(err)
	}
	// Without even the namespaced rights, the error names those.
	none := newToken(c, "nobody", nil)
	_, err = kubernetes.Open(ctx, kubernetes.Config{KubeConfigFile: c.kubeconfig(t, none, "bootstrap")}, nil)
	if err == nil || !strings.Contains(err.Error(), "may not list") || !strings.Contains(err.Error(), "deletecollection") {
		t.Errorf("Open without rights: %v", err)
	}
}
