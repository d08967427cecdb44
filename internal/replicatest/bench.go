package replicatest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/torii-idp/torii/storage"
	"github.com/torii-idp/torii/storage/sqlite"
)

// benchParallelism is goroutines per CPU: a token endpoint serves many
// clients at once, and storage round trips overlap only under
// concurrency.
const benchParallelism = 4

// BenchmarkTokenEndpoint measures /token through torii's real HTTP handler
// (called directly, no network) on SQLite, the baseline, and on the
// backend opened by open (named name), in the same run.
//
// refresh: each goroutine rotates its own refresh token in a loop (lookup,
// connector refresh, the backend's guarded rotation, a new token, two
// signatures).
// code: exchanging a code stored before the timer starts (guarded
// redemption, a refresh token, two signatures).
// The backend's sub-benchmark also reports x-sqlite: its ns/op divided by
// the sqlite one's just before it.
func BenchmarkTokenEndpoint(b *testing.B, name string, open func(b *testing.B) storage.Storage) {
	backends := []struct {
		name string
		open func(b *testing.B) storage.Storage
	}{
		{"sqlite", func(b *testing.B) storage.Storage {
			s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "torii.db"), nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		}},
		{name, open},
	}
	grants := []struct {
		name  string
		bench func(b *testing.B, r *Replica, st storage.Storage)
	}{
		{"refresh", benchRefresh},
		{"code", benchCode},
	}
	for _, g := range grants {
		b.Run(g.name, func(b *testing.B) {
			var baseline float64
			for _, be := range backends {
				b.Run(be.name, func(b *testing.B) {
					st := be.open(b)
					r := NewReplica(b, be.name, "http://torii.test"+IssuerPath, st, NewClock())
					b.SetParallelism(benchParallelism)
					b.ReportAllocs()
					g.bench(b, r, st)
					nsPerOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
					if be.name == "sqlite" {
						baseline = nsPerOp
					} else if baseline > 0 {
						b.ReportMetric(nsPerOp/baseline, "x-sqlite")
					}
				})
			}
		})
	}
}

func benchRefresh(b *testing.B, r *Replica, _ storage.Storage) {
	tokens := make(chan string, benchParallelism*runtime.GOMAXPROCS(0))
	for range cap(tokens) {
		tokens <- r.ServeToken(b, url.Values{"grant_type": {"password"}, "username": {UserLogin},
			"password": {UserPassword}, "scope": {"openid email offline_access"}}).RefreshToken
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rt := <-tokens
		for pb.Next() {
			rt = r.ServeToken(b, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}).RefreshToken
			if rt == "" {
				return
			}
		}
	})
}

func benchCode(b *testing.B, r *Replica, st storage.Storage) {
	ctx := context.Background()
	codes := make(chan string, b.N)
	now := time.Now()
	for i := range b.N {
		code := fmt.Sprintf("bench-code-%d-%d", i, now.UnixNano())
		// Stored as torii stores codes: by SHA-256, base64url.
		sum := sha256.Sum256([]byte(code))
		err := st.CreateAuthCode(ctx, storage.AuthCode{
			ID: base64.RawURLEncoding.EncodeToString(sum[:]), ClientID: ClientID, RedirectURI: RedirectURI,
			Scopes: []string{"openid", "email", "offline_access"}, ConnectorID: "local", AuthTime: now,
			Claims: storage.Claims{UserID: JaneUserID, Email: UserLogin, EmailVerified: true},
			Expiry: now.Add(time.Hour),
		})
		if err != nil {
			b.Fatal(err)
		}
		codes <- code
	}
	close(codes)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tr := r.ServeToken(b, url.Values{"grant_type": {"authorization_code"}, "code": {<-codes},
				"redirect_uri": {RedirectURI}})
			if tr.RefreshToken == "" {
				return
			}
		}
	})
}

// serveToken calls the handler directly; anything but 200 fails the
// benchmark.
func (r *Replica) ServeToken(b *testing.B, form url.Values) TokenResponse {
	req := httptest.NewRequest(http.MethodPost, r.Issuer+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(ClientID, ClientSecret)
	w := httptest.NewRecorder()
	r.Torii.ServeHTTP(w, req)
	var tr TokenResponse
	tr.Status = w.Code
	if err := json.Unmarshal(w.Body.Bytes(), &tr); err != nil || w.Code != http.StatusOK {
		b.Errorf("%s: /token: %d %s", r.Name, w.Code, w.Body.String())
	}
	return tr
}
