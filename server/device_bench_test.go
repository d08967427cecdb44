package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/torii-idp/torii/server"
	"github.com/torii-idp/torii/storage"
)

// BenchmarkDevicePoll: one device poll at /token per op, through the
// handler on SQLite: "pending" (client authentication and one atomic
// update of the request), "tokens" (the poll that hands out an ID token,
// an access token and a refresh token: two RS256 signatures, the refresh
// token stored, the request marked issued). The refresh grant in the same
// run is the baseline. The clock moves 5 s on every reading, so no poll is
// too early.
func BenchmarkDevicePoll(b *testing.B) {
	var ticks atomic.Int64
	start := time.Now()
	now := func() time.Time { return start.Add(time.Duration(ticks.Add(1)) * 5 * time.Second) }
	h, st := benchServerOpts(b, "RS256", func(c *server.Config) {
		c.Now = now
		c.Expiry.DeviceRequests = 1 << 20 * time.Hour
		c.Expiry.SigningKeys = 1 << 20 * time.Hour
		c.Expiry.IDTokens = 1 << 20 * time.Hour
	})
	ctx := context.Background()
	n := 0
	device := func(status storage.DeviceStatus) string {
		b.Helper()
		n++
		code := "bench-device-code-" + strings.Repeat("x", 20) + string(rune('a'+n%26)) + time.Now().Format("150405.000000000")
		sum := sha256.Sum256([]byte(code))
		err := st.CreateDeviceRequest(ctx, storage.DeviceRequest{
			ID: base64.RawURLEncoding.EncodeToString(sum[:]), UserCode: code, ClientID: confidentialID,
			Scopes: []string{"openid", "email", "groups", "offline_access"}, Status: status, Interval: 5 * time.Second,
			ConnectorID: "local", Claims: storage.Claims{UserID: janeUserID, Username: "Jane Doe", Email: "jane@example.com",
				EmailVerified: true, Groups: []string{"admins", "devs"}},
			CreatedAt: now(), Expiry: now().Add(1000 * time.Hour),
		})
		if err != nil {
			b.Fatal(err)
		}
		return code
	}
	poll := func(code string, want int) {
		form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {code}}.Encode()
		req := httptest.NewRequest(http.MethodPost, "https://torii.example/dex/token", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(confidentialID, confidentialSecret)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			b.Fatalf("device poll: %d %s", rec.Code, rec.Body)
		}
	}
	b.Run("pending", func(b *testing.B) {
		code := device(storage.DevicePending)
		for b.Loop() {
			poll(code, http.StatusBadRequest)
		}
	})
	b.Run("tokens", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			code := device(storage.DeviceApproved)
			b.StartTimer()
			poll(code, http.StatusOK)
		}
	})
	b.Run("refresh-baseline", func(b *testing.B) {
		tok := benchRefreshToken(b, h)
		for b.Loop() {
			tok = benchToken(b, h, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok}})["refresh_token"].(string)
		}
	})
}
