package server_test

import (
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/torii-idp/torii/server"
	"github.com/torii-idp/torii/storage/sqlite"
)

var (
	floodRequests = flag.Int("flood.requests", 0, "TestAuthFloodSize: how many /auth requests to send (0 skips)")
	floodState    = flag.Int("flood.state", 4096, "TestAuthFloodSize: state length of each request")
)

// TestAuthFloodSize measures the SQLite file after flood.requests
// unauthenticated /auth requests from one client IP (issue 12, item 1):
//
//	go test -run TestAuthFloodSize -flood.requests 100000 -flood.state 4096 ./server/
func TestAuthFloodSize(t *testing.T) {
	if *floodRequests == 0 {
		t.Skip("set -flood.requests")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "torii.db")
	ctx := context.Background()
	store, err := sqlite.Open(ctx, file, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(ctx, server.Config{
		Issuer: "https://torii.example/dex", Storage: store,
		Connectors: []server.Connector{{ID: "local", Password: defaultUsers()}},
		Clients:    []server.Client{{ID: confidentialID, Secret: confidentialSecret, RedirectURIs: []string{webRedirect}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	size := func() int64 {
		var n int64
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if fi, err := os.Stat(file + suffix); err == nil {
				n += fi.Size()
			}
		}
		return n
	}
	before := size()
	body := url.Values{"client_id": {confidentialID}, "redirect_uri": {webRedirect}, "response_type": {"code"},
		"scope": {"openid"}, "state": {strings.Repeat("s", *floodState)}}.Encode()
	codes := map[int]int{}
	start := time.Now()
	for range *floodRequests {
		req := httptest.NewRequest(http.MethodPost, "https://torii.example/dex/auth", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		codes[rec.Code]++
	}
	took := time.Since(start)
	srv.Close()
	store.Close()
	t.Logf("%d requests (state %d bytes) from one IP in %s: statuses %v; database %d -> %d bytes (%.1f MB)",
		*floodRequests, *floodState, took.Round(time.Millisecond), codes, before, size(), float64(size())/1e6)
}
