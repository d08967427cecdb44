package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/torii-idp/torii/internal/secret"
	"github.com/torii-idp/torii/storage"
)

// BenchmarkClientAuthentication: /token authenticating a static client, a
// stored client with a generated secret (SHA-256) and one with a chosen
// secret (bcrypt), on SQLite. The grant then fails at once (an unknown
// refresh token: one more lookup), so the difference between the rows is
// the client lookup and the secret check.
//
//	go test -run '^$' -bench ClientAuthentication ./server/
func BenchmarkClientAuthentication(b *testing.B) {
	h, st := benchServer(b, "RS256")
	gen := secret.Generate()
	chosenHash, err := secret.HashChosen("ZXhhbXBsZS1hcHAtc2VjcmV0")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []storage.Client{
		{ID: "stored-generated", SecretHash: secret.HashGenerated(gen), RedirectURIs: []string{webRedirect}},
		{ID: "stored-chosen", SecretHash: chosenHash, RedirectURIs: []string{webRedirect}},
	} {
		if err := st.CreateClient(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"unknown"}}.Encode()
	for _, c := range []struct{ name, id, secret string }{
		{"static", confidentialID, confidentialSecret},
		{"stored-generated", "stored-generated", gen},
		{"stored-chosen", "stored-chosen", "ZXhhbXBsZS1hcHAtc2VjcmV0"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(http.MethodPost, "https://torii.example/dex/token", strings.NewReader(form))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth(c.id, c.secret)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "invalid_grant") {
						b.Fatalf("%s: %d %s (want invalid_grant after authentication)", c.name, rec.Code, rec.Body)
					}
				}
			})
		})
	}
}
