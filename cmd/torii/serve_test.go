package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate for 127.0.0.1 with the given
// common name.
func writeCert(t *testing.T, certFile, keyFile, cn string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	// Write to temporary names and rename, as cert-manager's atomic
	// writer does, so a handshake never sees half a pair.
	os.WriteFile(certFile+".tmp", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile+".tmp", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600)
	if err := os.Rename(keyFile+".tmp", keyFile); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(certFile+".tmp", certFile); err != nil {
		t.Fatal(err)
	}
}

func TestServe(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writeCert(t, certFile, keyFile, "first")
	yaml := `issuer: http://127.0.0.1:5556/dex
storage:
  type: memory
web:
  http: 127.0.0.1:0
  https: 127.0.0.1:0
  tlsCert: ` + certFile + `
  tlsKey: ` + keyFile + `
  tlsMinVersion: "1.3"
  headers:
    X-Test-Header: torii
telemetry:
  http: 127.0.0.1:0
staticClients:
- id: app
  secret: s
  redirectURIs: [http://127.0.0.1:5555/callback]
enablePasswordDB: true
staticPasswords:
- email: admin@example.com
  hash: "` + demoHash + `"
  userID: "1"
`
	// Three listeners on port 0 share one address string; check them here.
	c, err := ParseConfig("config.yaml", []byte(yaml), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := make(chan map[string]string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, c, serveOptions{logger: slog.New(slog.DiscardHandler), ready: func(a map[string]string) { addrs <- a }})
	}()
	var a map[string]string
	select {
	case a = <-addrs:
	case err := <-done:
		if err != nil && strings.Contains(err.Error(), "not implemented yet") {
			t.Skip("server.New is still a stub in this build")
		}
		t.Fatalf("serve returned before listening: %v", err)
	}

	get := func(t *testing.T, client *http.Client, url string) (int, string, http.Header) {
		t.Helper()
		resp, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	seenCN := ""
	tlsClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true,
		MaxVersion:         tls.VersionTLS13,
		VerifyConnection: func(cs tls.ConnectionState) error {
			seenCN = cs.PeerCertificates[0].Subject.CommonName
			return nil
		},
	}, DisableKeepAlives: true}}

	tests := []struct {
		name   string
		client *http.Client
		url    string
		status int
		body   string
	}{
		{"web healthz under the issuer path", http.DefaultClient, "http://" + a["http"] + "/dex/healthz", 200, "ok"},
		{"web discovery", http.DefaultClient, "http://" + a["http"] + "/dex/.well-known/openid-configuration", 200, `"issuer":"http://127.0.0.1:5556/dex"`},
		{"https discovery", tlsClient, "https://" + a["https"] + "/dex/.well-known/openid-configuration", 200, `"issuer"`},
		{"telemetry healthz at the root", http.DefaultClient, "http://" + a["telemetry"] + "/healthz", 200, "ok"},
		{"telemetry readiness", http.DefaultClient, "http://" + a["telemetry"] + "/healthz/ready", 200, "ok"},
		{"telemetry serves nothing else", http.DefaultClient, "http://" + a["telemetry"] + "/dex/.well-known/openid-configuration", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, h := get(t, tt.client, tt.url)
			if status != tt.status || !strings.Contains(body, tt.body) {
				t.Fatalf("GET %s = %d %q; want %d containing %q", tt.url, status, body, tt.status, tt.body)
			}
			if status == 200 && !strings.Contains(tt.url, a["telemetry"]) && h.Get("X-Test-Header") != "torii" {
				t.Errorf("web.headers not applied: %v", h)
			}
		})
	}

	t.Run("TLS 1.2 is refused with tlsMinVersion 1.3", func(t *testing.T) {
		conn, err := tls.Dial("tcp", a["https"], &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12})
		if err == nil {
			conn.Close()
			t.Fatal("TLS 1.2 handshake succeeded")
		}
	})

	t.Run("certificate reloaded from disk", func(t *testing.T) {
		get(t, tlsClient, "https://"+a["https"]+"/dex/healthz")
		if seenCN != "first" {
			t.Fatalf("served CN %q, want first", seenCN)
		}
		writeCert(t, certFile, keyFile, "second")
		// Make sure the modification time differs even on coarse clocks.
		later := time.Now().Add(2 * time.Second)
		os.Chtimes(certFile, later, later)
		get(t, tlsClient, "https://"+a["https"]+"/dex/healthz")
		if seenCN != "second" {
			t.Fatalf("served CN %q after renewal, want second", seenCN)
		}
	})

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve after shutdown: %v", err)
	}
}

func TestCertReloader(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if _, err := newCertReloader(certFile, keyFile, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("missing files accepted")
	}
	writeCert(t, certFile, keyFile, "first")
	r, err := newCertReloader(certFile, keyFile, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	cn := func() string {
		c, err := r.get(nil)
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(c.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return leaf.Subject.CommonName
	}
	touch := func(d time.Duration) {
		later := time.Now().Add(d)
		os.Chtimes(certFile, later, later)
	}
	steps := []struct {
		name   string
		change func()
		want   string
	}{
		{"unchanged", func() {}, "first"},
		{"renewed", func() { writeCert(t, certFile, keyFile, "second"); touch(2 * time.Second) }, "second"},
		{"broken file keeps the previous pair", func() { os.WriteFile(certFile, []byte("garbage"), 0o600); touch(4 * time.Second) }, "second"},
		{"fixed again", func() { writeCert(t, certFile, keyFile, "third"); touch(6 * time.Second) }, "third"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.change()
			if got := cn(); got != s.want {
				t.Fatalf("CN = %q, want %q", got, s.want)
			}
		})
	}
}

func TestTelemetryHandler(t *testing.T) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.URL.Path) })
	tests := []struct {
		issuer, path string
		status       int
		body         string
	}{
		{"http://x/dex", "/healthz", 200, "/dex/healthz"},
		{"http://x/dex/", "/healthz/ready", 200, "/dex/healthz/ready"},
		{"http://x", "/healthz/live", 200, "/healthz/live"},
		{"http://x/dex", "/keys", 404, ""},
		{"http://x/dex", "/dex/healthz", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.issuer+tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			telemetryHandler(tt.issuer, echo, nil, false).ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
			if rec.Code != tt.status || (tt.status == 200 && rec.Body.String() != tt.body) {
				t.Fatalf("%s = %d %q, want %d %q", tt.path, rec.Code, rec.Body.String(), tt.status, tt.body)
			}
		})
	}
}
