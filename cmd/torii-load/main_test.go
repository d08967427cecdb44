package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/torii-idp/torii/connector/static"
	"github.com/torii-idp/torii/server"
	"github.com/torii-idp/torii/storage/sqlite"
)

const (
	testClient   = "load-app"
	testSecret   = "load-app-secret"
	testRedirect = "http://127.0.0.1:5555/callback"
)

// counter counts the requests that reach torii, per path and status class.
type counter struct {
	mu     sync.Mutex
	byPath map[string]int
	ok     atomic.Int64
}

func (c *counter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		h.ServeHTTP(rec, r)
		c.mu.Lock()
		c.byPath[r.Method+" "+r.URL.Path]++
		c.mu.Unlock()
	})
}

func (c *counter) get(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byPath[key]
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) { s.status = code; s.ResponseWriter.WriteHeader(code) }

// newTorii starts a real torii (SQLite, a static user, bcrypt at the
// lowest cost torii accepts) behind an httptest server.
func newTorii(t *testing.T, skipApproval bool) (*httptest.Server, *counter) {
	t.Helper()
	return newToriiThrottled(t, skipApproval, server.ThrottleConfig{Disabled: true})
}

func newToriiThrottled(t *testing.T, skipApproval bool, throttle server.ThrottleConfig) (*httptest.Server, *counter) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "torii.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	hash, _ := bcrypt.GenerateFromPassword([]byte("password"), 10)
	users, err := static.New([]static.User{{Email: "admin@example.com", Hash: hash, Username: "admin",
		UserID: "08a8684b", EmailVerified: true}})
	if err != nil {
		t.Fatal(err)
	}
	c := &counter{byPath: map[string]int{}}
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	s, err := server.New(ctx, server.Config{
		Issuer:             srv.URL + "/dex",
		Storage:            st,
		Connectors:         []server.Connector{{ID: "local", Name: "Email", Password: users, Refresh: users}},
		Clients:            []server.Client{{ID: testClient, Secret: testSecret, RedirectURIs: []string{testRedirect}}},
		PasswordConnector:  "local",
		SkipApprovalScreen: skipApproval,
		Throttle:           throttle,
		Logger:             slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	h = c.wrap(s)
	return srv, c
}

func load(t *testing.T, args ...string) (map[string]Result, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append(args, "--json"), &out, &errOut)
	if code != 0 && code != 1 {
		t.Fatalf("torii-load exited %d: %s", code, errOut.String())
	}
	var doc struct {
		Results []Result `json:"results"`
		Ratios  []Ratio  `json:"ratios"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("output is not JSON: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	res := map[string]Result{}
	for _, r := range doc.Results {
		res[r.Mode+" "+r.Issuer] = r
	}
	return res, errOut.String()
}

func common(issuer string) []string {
	return []string{"--issuer", issuer, "--client-id", testClient, "--client-secret", testSecret,
		"--redirect-uri", testRedirect, "--user", "admin@example.com:password",
		"--concurrency", "3", "--warmup", "100ms", "--duration", "700ms"}
}

// TestModesMeasureRealRequests: every mode's count is the number of
// answers torii actually gave on that endpoint during the measurement, and
// there are no errors against a healthy torii.
func TestModesMeasureRealRequests(t *testing.T) {
	for _, tc := range []struct {
		mode, path   string
		skipApproval bool
	}{
		{"discovery", "GET /dex/.well-known/openid-configuration", true},
		{"jwks", "GET /dex/keys", true},
		{"password", "POST /dex/token", true},
		{"refresh", "POST /dex/token", true},
		{"login", "GET /dex/auth", true},
		{"login", "POST /dex/approval", false}, // the approval page is filled in too
		{"code", "POST /dex/token", true},
	} {
		t.Run(tc.mode+" "+tc.path, func(t *testing.T) {
			srv, c := newTorii(t, tc.skipApproval)
			issuer := srv.URL + "/dex"
			args := append(common(issuer), "--modes", tc.mode, "--codes", "40")
			if tc.mode == "password" || tc.mode == "login" {
				args = append(args, "--duration", "3s") // bcrypt on a busy machine
			}
			res, stderr := load(t, args...)
			r, ok := res[tc.mode+" "+issuer]
			if !ok {
				t.Fatalf("no result for %s: %s", tc.mode, stderr)
			}
			if r.Errors != 0 || r.Skipped != "" {
				t.Fatalf("%s: %d errors, skipped %q, first error %q", tc.mode, r.Errors, r.Skipped, r.FirstError)
			}
			if r.Requests == 0 || r.PerSec <= 0 || r.P50ms <= 0 || r.P99ms < r.P50ms || r.MaxMs < r.P99ms {
				t.Fatalf("%s: implausible figures %+v", tc.mode, r)
			}
			seen := c.get(tc.path)
			// Setup (sessions, codes, the discovery fetch) and warm-up also
			// reach torii, so the server saw at least what was measured.
			if seen < r.Requests {
				t.Errorf("%s: reported %d requests but torii answered only %d on %s", tc.mode, r.Requests, seen, tc.path)
			}
			if tc.mode == "code" && r.Requests > 40 {
				t.Errorf("code: %d exchanges measured from 40 minted codes", r.Requests)
			}
		})
	}
}

// TestCountsErrors: a wrong client secret makes every token request fail,
// and the tool reports them as errors, not as throughput.
func TestCountsErrors(t *testing.T) {
	srv, c := newTorii(t, true)
	issuer := srv.URL + "/dex"
	args := common(issuer)
	for i, a := range args {
		if a == testSecret {
			args[i] = "wrong-secret"
		}
	}
	res, _ := load(t, append(args, "--modes", "password")...)
	r := res["password "+issuer]
	if r.Requests != 0 {
		t.Errorf("%d successful requests with a wrong secret", r.Requests)
	}
	if r.Errors == 0 || !strings.Contains(r.FirstError, "401") {
		t.Errorf("errors = %d, first %q; want every request counted as an HTTP 401 error", r.Errors, r.FirstError)
	}
	if seen := c.get("POST /dex/token"); seen < r.Errors {
		t.Errorf("reported %d errors but torii saw %d token requests", r.Errors, seen)
	}
}

// TestIntrospectAndDeviceModes: both endpoints are advertised now, and
// both modes run cleanly against torii (device: /device/code with the
// client's credentials).
func TestIntrospectAndDeviceModes(t *testing.T) {
	srv, c := newTorii(t, true)
	issuer := srv.URL + "/dex"
	res, _ := load(t, append(common(issuer), "--modes", "introspect,device")...)
	for _, mode := range []string{"introspect", "device"} {
		if r := res[mode+" "+issuer]; r.Skipped != "" || r.Requests == 0 || r.Errors != 0 {
			t.Errorf("%s: skipped %q, %d requests, %d errors (first %q); want it to run cleanly", mode, r.Skipped, r.Requests, r.Errors, r.FirstError)
		}
	}
	if c.get("POST /dex/device/code") == 0 {
		t.Error("torii saw no /device/code requests")
	}
}

// TestRateLimitedIsErrorsWithHint: torii's limit on device logins started
// by one address refuses the device mode after the limit; the refusals
// are errors and the result says why.
func TestRateLimitedIsErrorsWithHint(t *testing.T) {
	srv, c := newToriiThrottled(t, true, server.ThrottleConfig{PendingAuthRequestsPerIP: 5})
	issuer := srv.URL + "/dex"
	res, _ := load(t, append(common(issuer), "--modes", "device", "--warmup", "0s")...)
	r := res["device "+issuer]
	if r.Requests > 5 || r.Errors == 0 || !strings.Contains(r.FirstError, "HTTP 429") {
		t.Fatalf("%d requests, %d errors, first %q; want at most 5 answered and the rest counted as 429 errors", r.Requests, r.Errors, r.FirstError)
	}
	if !strings.Contains(r.Hint, "rate-limits") {
		t.Errorf("hint %q; want it to say the server rate-limits", r.Hint)
	}
	if seen := c.get("POST /dex/device/code"); seen < r.Requests+r.Errors {
		t.Errorf("reported %d requests but torii saw %d", r.Requests+r.Errors, seen)
	}
}

// TestCompare runs a mode against two issuers and reports the ratio.
func TestCompare(t *testing.T) {
	a, _ := newTorii(t, true)
	b, _ := newTorii(t, true)
	var out, errOut bytes.Buffer
	args := append(common(a.URL+"/dex"), "--compare", b.URL+"/dex", "--modes", "jwks", "--duration", "300ms")
	if code := run(context.Background(), args, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 || !strings.Contains(lines[3], "ratio B/A") {
		t.Fatalf("want header, two results and a ratio line; got:\n%s", out.String())
	}
	for _, l := range lines[1:3] {
		if !strings.HasPrefix(l, "jwks") {
			t.Errorf("result line %q", l)
		}
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	if p := percentile(d, 0.5); p != 50*time.Millisecond {
		t.Errorf("p50 = %v", p)
	}
	if p := percentile(d, 0.99); p != 99*time.Millisecond {
		t.Errorf("p99 = %v", p)
	}
}

// TestReportsServerCost: with --server-pid (here torii runs in this very
// process) each result carries the server's memory and the CPU time per
// request of the server and of torii-load.
func TestReportsServerCost(t *testing.T) {
	srv, _ := newTorii(t, true)
	issuer := srv.URL + "/dex"
	res, stderr := load(t, append(common(issuer), "--modes", "refresh", "--server-pid", strconv.Itoa(os.Getpid()))...)
	r, ok := res["refresh "+issuer]
	if !ok || r.Errors != 0 || r.Requests == 0 {
		t.Fatalf("refresh: %+v: %s", r, stderr)
	}
	if r.ServerRSSKiB <= 0 || r.ServerCPUPerReqMs <= 0 || r.LoadCPUPerReqMs <= 0 {
		t.Fatalf("server rss %d KiB, server CPU %.3f ms/req, load CPU %.3f ms/req: want all positive",
			r.ServerRSSKiB, r.ServerCPUPerReqMs, r.LoadCPUPerReqMs)
	}
	// The "server" is this process, which also runs the load: its CPU time
	// includes torii-load's (give or take a clock tick at each end).
	if slack := 20.0 / float64(r.Requests); r.ServerCPUPerReqMs+slack < r.LoadCPUPerReqMs {
		t.Errorf("server CPU %.3f ms/req < load CPU %.3f ms/req of the same process", r.ServerCPUPerReqMs, r.LoadCPUPerReqMs)
	}
}
