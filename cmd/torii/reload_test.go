package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// reloadConfig is a config with the given extra clients and users; both
// users' password is "password".
func reloadConfig(auditFile string, clients, users []string) string {
	var b strings.Builder
	b.WriteString(`issuer: http://127.0.0.1:5556/dex
storage:
  type: memory
web:
  http: 127.0.0.1:0
telemetry:
  http: 127.0.0.2:0
audit:
  output: ` + auditFile + `
oauth2:
  passwordConnector: local
  grantTypes: [authorization_code, refresh_token, password]
staticClients:
`)
	for _, c := range clients {
		fmt.Fprintf(&b, "- id: %s\n  secret: %s-secret\n  redirectURIs: [http://127.0.0.1:5555/callback]\n", c, c)
	}
	b.WriteString("enablePasswordDB: true\nstaticPasswords:\n")
	for i, u := range users {
		fmt.Fprintf(&b, "- email: %s@example.com\n  hash: %q\n  userID: \"%d\"\n", u, demoHash, i+1)
	}
	return b.String()
}

// configMapDir lays out a config the way the kubelet mounts a ConfigMap:
// config.yaml -> ..data/config.yaml, ..data -> ..<version>; update swaps
// the ..data symlink atomically, as the kubelet does.
type configMapDir struct {
	t   *testing.T
	dir string
	n   int
}

func newConfigMapDir(t *testing.T, content string) *configMapDir {
	d := &configMapDir{t: t, dir: t.TempDir()}
	d.update(content)
	if err := os.Symlink("..data/config.yaml", filepath.Join(d.dir, "config.yaml")); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *configMapDir) path() string { return filepath.Join(d.dir, "config.yaml") }

func (d *configMapDir) update(content string) {
	d.t.Helper()
	d.n++
	version := fmt.Sprintf("..2026_12_01_%d", d.n)
	if err := os.Mkdir(filepath.Join(d.dir, version), 0o755); err != nil {
		d.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d.dir, version, "config.yaml"), []byte(content), 0o644); err != nil {
		d.t.Fatal(err)
	}
	tmp := filepath.Join(d.dir, "..data_tmp")
	if err := os.Symlink(version, tmp); err != nil {
		d.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(d.dir, "..data")); err != nil {
		d.t.Fatal(err)
	}
}

type running struct {
	addrs map[string]string
	hup   chan os.Signal
	done  chan error
	stop  context.CancelFunc
}

func startServe(t *testing.T, path string) *running {
	t.Helper()
	c, err := checkFile(context.Background(), path, serveFlags{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{hup: make(chan os.Signal, 1), done: make(chan error, 1), stop: cancel}
	addrs := make(chan map[string]string, 1)
	go func() {
		r.done <- serve(ctx, c, serveOptions{logger: testLogger(t), watch: true, reload: r.hup,
			ready: func(a map[string]string) { addrs <- a }})
	}()
	select {
	case r.addrs = <-addrs:
	case err := <-r.done:
		t.Fatalf("serve: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-r.done; err != nil {
			t.Errorf("serve after shutdown: %v", err)
		}
	})
	return r
}

// passwordGrant returns the status and error code of a password grant.
func (r *running) passwordGrant(client, user string) (int, string, error) {
	form := url.Values{"grant_type": {"password"}, "username": {user + "@example.com"}, "password": {"password"}, "scope": {"openid"}}
	req, _ := http.NewRequest(http.MethodPost, "http://"+r.addrs["http"]+"/dex/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, client+"-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var body struct{ Error string }
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Error, nil
}

// metrics scrapes /metrics into "name{labels}" -> value.
func (r *running) metrics(t *testing.T) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + r.addrs["telemetry"] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReloadUnderLoad: a ConfigMap update adds a client and removes a user
// while logins run; nothing fails but the removed user's logins, a broken
// update leaves the previous config serving, and the metrics say so.
func TestReloadUnderLoad(t *testing.T) {
	auditFile := filepath.Join(t.TempDir(), "audit.log")
	cm := newConfigMapDir(t, reloadConfig(auditFile, []string{"app"}, []string{"alice", "bob"}))
	r := startServe(t, cm.path())

	if st, _, err := r.passwordGrant("app", "bob"); err != nil || st != 200 {
		t.Fatalf("bob before the reload: %d %v", st, err)
	}
	var (
		stopLoad   atomic.Bool
		wg         sync.WaitGroup
		okCount    atomic.Int64
		mu         sync.Mutex
		unexpected []string
	)
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stopLoad.Load() {
				st, code, err := r.passwordGrant("app", "alice")
				if err != nil || st != 200 {
					mu.Lock()
					unexpected = append(unexpected, fmt.Sprintf("alice: %d %s %v", st, code, err))
					mu.Unlock()
					continue
				}
				okCount.Add(1)
			}
		}()
	}
	waitFor(t, "load", func() bool { return okCount.Load() > 0 })

	cm.update(reloadConfig(auditFile, []string{"app", "app2"}, []string{"alice"}))
	waitFor(t, "the new client", func() bool { st, _, _ := r.passwordGrant("app2", "alice"); return st == 200 })
	if st, code, _ := r.passwordGrant("app", "bob"); st != 400 || code != "invalid_grant" {
		t.Errorf("removed user bob after the reload: %d %s, want 400 invalid_grant", st, code)
	}

	before := okCount.Load()
	cm.update("issuer: [broken\n")
	waitFor(t, "the refused reload", func() bool {
		return r.metrics(t)["torii_config_last_reload_successful"] == 0
	})
	r.hup <- os.Interrupt // SIGHUP: the same file, refused again
	waitFor(t, "the second refusal", func() bool {
		return r.metrics(t)[`torii_config_reloads_total{result="failure"}`] == 2
	})
	waitFor(t, "more load", func() bool { return okCount.Load() > before })
	if st, _, _ := r.passwordGrant("app2", "alice"); st != 200 {
		t.Errorf("app2 after a refused reload: %d, want the previous config serving", st)
	}
	stopLoad.Store(true)
	wg.Wait()
	if len(unexpected) > 0 {
		t.Errorf("%d failed requests during the reloads (first: %s)", len(unexpected), unexpected[0])
	}

	m := r.metrics(t)
	for _, series := range []string{
		`torii_config_reloads_total{result="success"}`,
		`torii_logins_total{connector="local",result="success"}`,
		`torii_tokens_issued_total{grant_type="password"}`,
		`http_requests_total{code="200",handler="/token",method="POST"}`,
		`torii_storage_operation_duration_seconds_count{backend="memory",op="get_keys"}`,
		`dex_build_info`, `torii_build_info`, `go_goroutines`,
	} {
		found := false
		for k, v := range m {
			if (k == series || strings.HasPrefix(k, series+"{")) && v > 0 {
				found = true
			}
		}
		if !found {
			t.Errorf("/metrics has no %s > 0", series)
		}
	}
	// Counted through the metered storage at start: present, and zero (the
	// password grant opens no browser session).
	if v, ok := m[`torii_sessions_live`]; !ok || v != 0 {
		t.Errorf("torii_sessions_live = %v (present %v), want 0", v, ok)
	}
	if m[`torii_logins_total{connector="local",result="invalid_credentials"}`] < 1 {
		t.Errorf("bob's refused logins were not counted")
	}

	data, _ := os.ReadFile(auditFile)
	var reloads []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		if rec["event"] == "config_reloaded" {
			reloads = append(reloads, rec["result"].(string))
		}
		if strings.Contains(line, "-secret") || strings.Contains(line, "$2a$") {
			t.Errorf("audit line with a secret: %s", line)
		}
	}
	if strings.Join(reloads, ",") != "ok,error,error" {
		t.Errorf("config_reloaded records: %v, want ok,error,error", reloads)
	}
}

// Keys that need a restart are reported and the rest is applied.
func TestReloadRestartKeys(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	auditFile := filepath.Join(dir, "audit.log")
	os.WriteFile(path, []byte(reloadConfig(auditFile, []string{"app"}, []string{"alice"})), 0o644)
	r := startServe(t, path)
	next := strings.Replace(reloadConfig(auditFile, []string{"app", "app2"}, []string{"alice"}), "issuer: http://127.0.0.1:5556/dex", "issuer: http://127.0.0.1:5557/dex", 1)
	os.WriteFile(path+".tmp", []byte(next), 0o644)
	os.Rename(path+".tmp", path) // as an editor saves
	waitFor(t, "app2", func() bool { st, _, _ := r.passwordGrant("app2", "alice"); return st == 200 })
	resp, err := http.Get("http://" + r.addrs["http"] + "/dex/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"issuer":"http://127.0.0.1:5556/dex"`) {
		t.Errorf("the issuer changed without a restart: %s", b)
	}
	data, _ := os.ReadFile(auditFile)
	if !strings.Contains(string(data), `"detail":"not applied until a restart: issuer"`) {
		t.Errorf("audit log does not report the restart key:\n%s", data)
	}
}

func TestRestartKeys(t *testing.T) {
	base := func() *Config {
		c, err := ParseConfig("c.yaml", []byte(reloadConfig("stderr", []string{"app"}, []string{"alice"})), nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"clients and users reload", func(c *Config) { c.Clients = nil; c.Users = nil }, ""},
		{"logger level reloads", func(c *Config) { c.Logger.Level = slog.LevelDebug }, ""},
		{"storage", func(c *Config) { c.Storage.Type = "sqlite3" }, "storage"},
		{"listen", func(c *Config) { c.Web.HTTP = "0.0.0.0:1"; c.Telemetry.HTTP = "" }, "web.http,telemetry"},
		{"signing", func(c *Config) { c.KeysRotationPeriod = time.Hour; c.Expiry.IDTokens = time.Hour }, "expiry.signingKeys,expiry.idTokens"},
		{"logger format and audit", func(c *Config) { c.Logger.Format = "json"; c.Audit.Output = "stdout" }, "logger.format,audit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := base()
			tt.change(next)
			if got := strings.Join(restartKeys(base(), next), ","); got != tt.want {
				t.Fatalf("restartKeys = %q, want %q", got, tt.want)
			}
		})
	}
}

// testLogger logs through t, so a failing test shows what torii said.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
