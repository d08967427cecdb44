package server_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/torii-idp/torii/server"
)

// BenchmarkIntrospect: one /token/introspect call per op (client
// authentication, then signature check and grant lookup for an access
// token, or the hash lookup for a refresh token), on SQLite. The userinfo
// case is the baseline measured in the same run.
func BenchmarkIntrospect(b *testing.B) {
	h, _ := benchServer(b, "RS256")
	tok := benchToken(b, h, url.Values{"grant_type": {"password"}, "username": {"jane@example.com"},
		"password": {"correct horse"}, "scope": {"openid email groups offline_access"}})
	for _, tc := range []struct{ name, tok string }{
		{"access", tok["access_token"].(string)},
		{"refresh", tok["refresh_token"].(string)},
	} {
		form := url.Values{"token": {tc.tok}}.Encode()
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "https://torii.example/dex/token/introspect", strings.NewReader(form))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(confidentialID, confidentialSecret)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"active":true`) {
					b.Fatalf("introspect: %d %s", rec.Code, rec.Body)
				}
			}
		})
	}
	b.Run("userinfo-baseline", func(b *testing.B) {
		for b.Loop() {
			req := httptest.NewRequest(http.MethodGet, "https://torii.example/dex/userinfo", nil)
			req.Header.Set("Authorization", "Bearer "+tok["access_token"].(string))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("userinfo: %d %s", rec.Code, rec.Body)
			}
		}
	})
}

// BenchmarkClientCredentials: one client_credentials token request per op
// (client authentication, two signatures), against the refresh grant's
// cost measured separately by BenchmarkRefreshGrant.
func BenchmarkClientCredentials(b *testing.B) {
	h := benchServerWith(b, func(c *server.Config) {
		c.GrantTypes = []string{"authorization_code", "client_credentials"}
	})
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"openid groups"}}
	for b.Loop() {
		benchToken(b, h, form)
	}
}
