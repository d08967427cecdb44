package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/server"
	"github.com/torii-idp/torii/storage"
	"github.com/torii-idp/torii/storage/sqlite"
)

// benchServer is torii on SQLite, called through its http.Handler without
// a network in between.
func benchServer(b *testing.B, alg string) (http.Handler, storage.Storage) {
	return benchServerOpts(b, alg)
}

func benchServerWith(b *testing.B, opt func(*server.Config)) http.Handler {
	h, _ := benchServerOpts(b, "RS256", opt)
	return h
}

func benchServerOpts(b *testing.B, alg string, opts ...func(*server.Config)) (http.Handler, storage.Storage) {
	b.Helper()
	st, err := sqlite.Open(context.Background(), b.TempDir()+"/bench.db", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	users := defaultUsers()
	ctx, cancel := context.WithCancel(context.Background())
	cfg := server.Config{
		Issuer:            "https://torii.example/dex",
		Storage:           st,
		Connectors:        []server.Connector{{ID: "local", Password: users, Refresh: users}},
		Clients:           []server.Client{{ID: confidentialID, Secret: confidentialSecret, RedirectURIs: []string{webRedirect}}},
		PasswordConnector: "local",
		SigningAlgorithm:  alg,
		Throttle:          server.ThrottleConfig{Disabled: true},
	}
	for _, o := range opts {
		o(&cfg)
	}
	s, err := server.New(ctx, cfg)
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	b.Cleanup(func() { cancel(); s.Close() })
	return s, st
}

func benchToken(b *testing.B, h http.Handler, form url.Values) map[string]any {
	req := httptest.NewRequest(http.MethodPost, "https://torii.example/dex/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(confidentialID, confidentialSecret)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		b.Fatalf("token endpoint: %d %s", rec.Code, rec.Body)
	}
	var m map[string]any
	json.Unmarshal(rec.Body.Bytes(), &m)
	return m
}

func benchRefreshToken(b *testing.B, h http.Handler) string {
	return benchToken(b, h, url.Values{"grant_type": {"password"}, "username": {"jane@example.com"},
		"password": {"correct horse"}, "scope": {"openid email groups offline_access"}})["refresh_token"].(string)
}

// BenchmarkRefreshGrant: one refresh (lookup, connector refresh, rotation,
// two signatures) per op, from parallel sessions.
func BenchmarkRefreshGrant(b *testing.B) {
	for _, alg := range []string{"RS256", "ES256"} {
		b.Run(alg, func(b *testing.B) {
			h, _ := benchServer(b, alg)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				b.StopTimer()
				tok := benchRefreshToken(b, h)
				b.StartTimer()
				for pb.Next() {
					tok = benchToken(b, h, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok}})["refresh_token"].(string)
				}
			})
		})
	}
}

// BenchmarkCodeExchange: redeeming a code stored ahead of time.
func BenchmarkCodeExchange(b *testing.B) {
	h, st := benchServer(b, "RS256")
	codes := make([]string, b.N)
	for i := range codes {
		codes[i] = fmt.Sprintf("bench-code-%d-%d", i, time.Now().UnixNano())
		err := st.CreateAuthCode(context.Background(), storage.AuthCode{
			ID: hashForBench(codes[i]), ClientID: confidentialID, RedirectURI: webRedirect,
			Scopes: []string{"openid", "email", "groups"}, ConnectorID: "local",
			Claims: storage.Claims{UserID: janeUserID, Email: "jane@example.com", EmailVerified: true, Groups: []string{"admins"}},
			Expiry: time.Now().Add(time.Hour),
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		benchToken(b, h, url.Values{"grant_type": {"authorization_code"}, "code": {codes[i]}, "redirect_uri": {webRedirect}})
	}
}

// BenchmarkKeys: the JWKS, served from pre-serialized bytes.
func BenchmarkKeys(b *testing.B) {
	h, _ := benchServer(b, "RS256")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://torii.example/dex/keys", nil))
			if rec.Code != 200 {
				b.Fatalf("keys: %d", rec.Code)
			}
		}
	})
}

// hashForBench is how torii stores codes: SHA-256, base64url.
func hashForBench(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// BenchmarkRefreshObserved: the refresh grant without and with metrics and
// the audit log (JSON records encoded and written to a discarding writer),
// in the same run, so the ratio is the cost of observing.
func BenchmarkRefreshObserved(b *testing.B) {
	for _, tc := range []struct {
		name string
		opt  func(*server.Config)
	}{
		{"off", func(*server.Config) {}},
		{"metrics+audit", func(c *server.Config) {
			c.Metrics = server.NewMetrics(prometheus.NewRegistry())
			c.Audit = audit.New(io.Discard, nil)
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h, _ := benchServerOpts(b, "ES256", tc.opt)
			tok := benchRefreshToken(b, h)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tok = benchToken(b, h, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok}})["refresh_token"].(string)
			}
		})
	}
}
