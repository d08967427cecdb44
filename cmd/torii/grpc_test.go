package main

import (
	"bytes"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/torii-idp/torii/storage/memory"
)

// TestAdminAPIStartupLog: the log says which protection the admin API has.
func TestAdminAPIStartupLog(t *testing.T) {
	pki := newTestPKI(t, "log")
	cert, key := pki.issue(t, "srv")
	tests := []struct {
		name string
		grpc GRPCConfig
		want string
	}{
		{"loopback", GRPCConfig{Addr: "127.0.0.1:0"}, "admin API: no TLS, listening only on a loopback address or Unix socket"},
		{"unix socket", GRPCConfig{Addr: "unix:" + filepath.Join(t.TempDir(), "a.sock")}, "admin API: no TLS"},
		{"TLS only", GRPCConfig{Addr: "127.0.0.1:0", TLSCert: cert, TLSKey: key}, "admin API: TLS without client certificates"},
		{"mutual TLS", GRPCConfig{Addr: "127.0.0.1:0", TLSCert: cert, TLSKey: key, TLSClientCA: pki.CAFile}, "admin API: mutual TLS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			c := &Config{Issuer: "http://127.0.0.1:5556/dex", GRPC: tt.grpc}
			a, err := c.startAdminAPI(memory.New(), http.NotFoundHandler(), nil, nil, slog.New(slog.NewTextHandler(&buf, nil)), nil)
			if err != nil {
				t.Fatal(err)
			}
			a.stop()
			if !strings.Contains(buf.String(), tt.want) {
				t.Errorf("log %q does not contain %q", buf.String(), tt.want)
			}
		})
	}
	t.Run("a bad client CA file is an error", func(t *testing.T) {
		c := &Config{GRPC: GRPCConfig{Addr: "127.0.0.1:0", TLSCert: cert, TLSKey: key, TLSClientCA: cert + ".missing"}}
		if _, err := c.startAdminAPI(memory.New(), http.NotFoundHandler(), nil, nil, slog.New(slog.DiscardHandler), nil); err == nil ||
			!strings.Contains(err.Error(), "grpc.tlsClientCA") {
			t.Errorf("missing CA file: %v", err)
		}
	})
}
