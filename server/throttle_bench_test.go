package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/torii-idp/torii/internal/testpg"
	"github.com/torii-idp/torii/server"
	"github.com/torii-idp/torii/storage"
	"github.com/torii-idp/torii/storage/memory"
	"github.com/torii-idp/torii/storage/postgres"
	"github.com/torii-idp/torii/storage/sqlite"
)

// BenchmarkLoginThrottle is a successful password-grant login with the
// throttle off and on, per backend: the difference is what keeping the
// counters in storage costs per login (three counter updates).
func BenchmarkLoginThrottle(b *testing.B) {
	backends := []struct {
		name string
		open func(b *testing.B) storage.Storage
	}{
		{"memory", func(*testing.B) storage.Storage { return memory.New() }},
		{"sqlite", func(b *testing.B) storage.Storage {
			st, err := sqlite.Open(context.Background(), b.TempDir()+"/bench.db", nil)
			if err != nil {
				b.Fatal(err)
			}
			return st
		}},
		{"postgres", func(b *testing.B) storage.Storage {
			st, err := postgres.Open(context.Background(), postgres.Config{DSN: testpg.CreateDatabase(b, testpg.AdminDSN(b))}, nil)
			if err != nil {
				b.Fatal(err)
			}
			return st
		}},
	}
	for _, be := range backends {
		for _, on := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/throttle=%v", be.name, on), func(b *testing.B) {
				st := be.open(b)
				b.Cleanup(func() { st.Close() })
				users := defaultUsers()
				ctx, cancel := context.WithCancel(context.Background())
				s, err := server.New(ctx, server.Config{
					Issuer: "https://torii.example/dex", Storage: st,
					Connectors:        []server.Connector{{ID: "local", Password: users}},
					Clients:           []server.Client{{ID: confidentialID, Secret: confidentialSecret, RedirectURIs: []string{webRedirect}}},
					PasswordConnector: "local",
					SigningAlgorithm:  "ES256",
					Throttle:          server.ThrottleConfig{Disabled: !on},
				})
				if err != nil {
					cancel()
					b.Fatal(err)
				}
				b.Cleanup(func() { cancel(); s.Close() })
				body := url.Values{"grant_type": {"password"}, "username": {"jane@example.com"}, "password": {right}, "scope": {"openid"}}.Encode()
				for b.Loop() {
					req := httptest.NewRequest(http.MethodPost, "https://torii.example/dex/token", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth(confidentialID, confidentialSecret)
					rec := httptest.NewRecorder()
					s.ServeHTTP(rec, req)
					if rec.Code != 200 {
						b.Fatalf("%d %s", rec.Code, rec.Body)
					}
				}
			})
		}
	}
}
