package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/internal/testmetrics"
	"github.com/torii-idp/torii/server"
)

// syncBuffer is an audit output read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("audit line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

// metricValue is the counter value (or histogram count) of the series of
// name whose labels include want; -1 when there is none.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	return testmetrics.Value(t, reg, name, want)
}

func TestMetricsAndAuditFollowALogin(t *testing.T) {
	reg := prometheus.NewRegistry()
	out := &syncBuffer{}
	e := newEnv(t, func(c *server.Config) {
		c.Metrics = server.NewMetrics(reg)
		c.Audit = audit.New(out, nil)
	})
	b := e.browser()

	// A wrong password, then the code flow, a refresh and a replay.
	cfg := e.oauth2Config("email", "offline_access")
	p := b.follow(cfg.AuthCodeURL("st"))
	p = b.submitLogin(p, "jane@example.com", "wrong")
	if p.status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", p.status)
	}
	cb := b.loginCode(cfg.AuthCodeURL("st"), "jane@example.com", "correct horse")
	code := cb.Query().Get("code")
	tok, err := cfg.Exchange(e.ctx(), code)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	st, r1 := e.refresh(tok.RefreshToken)
	if st != 200 {
		t.Fatalf("refresh: %d %v", st, r1)
	}
	e.clock.Add(10 * time.Second) // past the reuse interval
	if st, _ := e.refresh(tok.RefreshToken); st != 400 {
		t.Fatalf("replay: %d", st)
	}

	counters := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"torii_logins_total", map[string]string{"connector": "local", "result": "success"}, 1},
		{"torii_logins_total", map[string]string{"connector": "local", "result": "invalid_credentials"}, 1},
		{"torii_tokens_issued_total", map[string]string{"grant_type": "authorization_code"}, 1},
		{"torii_tokens_issued_total", map[string]string{"grant_type": "refresh_token"}, 1},
		{"torii_refresh_replays_total", nil, 1},
		{"torii_refresh_families_revoked_total", nil, 1},
		{"http_requests_total", map[string]string{"handler": "/token", "method": "POST", "code": "200"}, 2},
		{"http_requests_total", map[string]string{"handler": "/token", "method": "POST", "code": "400"}, 1},
		{"http_requests_total", map[string]string{"handler": "/auth/{connector}", "method": "POST", "code": "401"}, 1},
		{"request_duration_seconds", map[string]string{"handler": "/token", "code": "200"}, 2},
		{"response_size_bytes", map[string]string{"handler": "/token", "code": "200"}, 2},
	}
	for _, c := range counters {
		if got := metricValue(t, reg, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := metricValue(t, reg, "torii_signing_key_rotation_seconds", nil); got <= 0 {
		t.Errorf("torii_signing_key_rotation_seconds = %v, want > 0", got)
	}

	recs := out.records(t)
	var events []string
	for _, r := range recs {
		events = append(events, r["event"].(string))
		for _, secret := range []string{"correct horse", "wrong", code, tok.RefreshToken, tok.AccessToken, r1["refresh_token"].(string), confidentialSecret} {
			line, _ := json.Marshal(r)
			if strings.Contains(string(line), secret) {
				t.Errorf("audit record %s contains a secret", line)
			}
		}
		if r["request_id"] == "" || r["time"] == "" {
			t.Errorf("record without request_id or time: %v", r)
		}
	}
	want := []string{"login_failed", "login_succeeded", "code_issued", "tokens_issued", "code_redeemed",
		"tokens_issued", "refresh_rotated", "refresh_replayed", "family_revoked"}
	if strings.Join(events, " ") != strings.Join(want, " ") {
		t.Fatalf("audit events\n got %v\nwant %v", events, want)
	}
	for i, r := range recs {
		if i > 0 && r["sub"] != janeSub {
			t.Errorf("%s: sub = %v, want %s", r["event"], r["sub"], janeSub)
		}
		if r["event"] != "login_failed" && r["event"] != "login_succeeded" && r["client_id"] != confidentialID {
			t.Errorf("%s: client_id = %v", r["event"], r["client_id"])
		}
	}
	if recs[0]["result"] != "denied" || recs[0]["client_id"] != confidentialID {
		t.Errorf("login_failed record: %v", recs[0])
	}
	if recs[3]["grant_type"] != "authorization_code" || recs[6]["result"] != "ok" {
		t.Errorf("tokens_issued / refresh_rotated records: %v / %v", recs[3], recs[6])
	}
}

func TestRequestIDEchoedAndAudited(t *testing.T) {
	out := &syncBuffer{}
	e := newEnv(t, func(c *server.Config) { c.Audit = audit.New(out, nil) })
	post := func(id string) string {
		form := url.Values{"grant_type": {"password"}, "username": {"jane@example.com"}, "password": {"correct horse"}, "scope": {"openid"}}
		req, _ := http.NewRequest(http.MethodPost, e.issuer+"/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(confidentialID, confidentialSecret)
		if id != "" {
			req.Header.Set("X-Request-Id", id)
		}
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("password grant: %d", resp.StatusCode)
		}
		return resp.Header.Get("X-Request-Id")
	}
	tests := []struct {
		name, sent string
		keep       bool
	}{
		{"generated when absent", "", false},
		{"kept from the proxy", "abc-123.def_456", true},
		{"replaced when unusable", "two words", false},
		{"replaced when too long", strings.Repeat("a", 200), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := post(tt.sent)
			if tt.keep && got != tt.sent {
				t.Fatalf("X-Request-Id = %q, want %q", got, tt.sent)
			}
			if !tt.keep && (got == "" || got == tt.sent || !audit.UsableRequestID(got)) {
				t.Fatalf("X-Request-Id = %q", got)
			}
			recs := out.records(t)
			last := recs[len(recs)-1]
			if last["event"] != "tokens_issued" || last["request_id"] != got || last["grant_type"] != "password" {
				t.Fatalf("last audit record %v, want tokens_issued with request_id %q", last, got)
			}
		})
	}
}

// Reload swaps clients and connectors in while requests run; the throttle
// counts (in storage) survive it.
func TestReloadKeepsServingAndThrottleCounts(t *testing.T) {
	var cfg server.Config
	e := newEnv(t, func(c *server.Config) {
		c.Throttle = server.ThrottleConfig{Window: time.Hour, BaseDelay: time.Minute, MaxDelay: time.Minute, FailuresPerUserAndIP: 1, FailuresPerUser: 1, FailuresPerIP: 10, ErrorsPerIP: 10}
		cfg = *c
	})
	wrong := func(t *testing.T) int {
		st, _, _ := e.tokenRequest(url.Values{"grant_type": {"password"}, "username": {"jane@example.com"}, "password": {"nope"}}, confidentialID, confidentialSecret)
		return st
	}
	wrong(t)
	// A new client, the same throttle settings.
	next := cfg
	next.Clients = append(append([]server.Client(nil), cfg.Clients...), server.Client{ID: "added", Secret: "added-secret", RedirectURIs: []string{"https://added.example/cb"}})
	if err := e.torii.Reload(context.Background(), next); err != nil {
		t.Fatal(err)
	}
	addedKnown := func(t *testing.T) {
		t.Helper()
		// invalid_grant, not invalid_client: the client authenticated.
		st, body, _ := e.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, "added", "added-secret")
		if st != 400 || body["error"] != "invalid_grant" {
			t.Fatalf("added client: %d %v, want invalid_grant", st, body)
		}
	}
	addedKnown(t)
	wrong(t) // the second failure delays jane: the first was remembered across the reload
	st, body, _ := e.tokenRequest(url.Values{"grant_type": {"password"}, "username": {"jane@example.com"}, "password": {"correct horse"}}, "added", "added-secret")
	if st != 400 || !strings.Contains(body["error_description"].(string), "too many") {
		t.Fatalf("after two failures across a reload: %d %v, want throttled", st, body)
	}
	// An invalid config is refused and the running one stays.
	bad := next
	bad.Clients = append(bad.Clients, server.Client{ID: "added"})
	if err := e.torii.Reload(context.Background(), bad); err == nil {
		t.Fatal("a config with a duplicate client was applied")
	}
	addedKnown(t)
}

func TestDrainTurnsReadinessOff(t *testing.T) {
	e := newEnv(t)
	get := func() (int, string) {
		resp, err := e.srv.Client().Get(e.issuer + "/healthz/ready")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		conn := ""
		if resp.Close {
			conn = "close"
		}
		return resp.StatusCode, conn
	}
	if st, _ := get(); st != 200 {
		t.Fatalf("ready before drain: %d", st)
	}
	e.torii.Drain()
	if st, conn := get(); st != 503 || conn != "close" {
		t.Fatalf("ready while draining: %d Connection %q, want 503 close", st, conn)
	}
	// Everything else is still served.
	if st, _, _ := e.tokenRequest(url.Values{"grant_type": {"password"}, "username": {"jane@example.com"}, "password": {"correct horse"}}, confidentialID, confidentialSecret); st != 200 {
		t.Fatalf("token while draining: %d", st)
	}
}
