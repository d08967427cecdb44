package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"
)

// The torii config.yaml the suite writes: Dex's format, only the keys used.
type toriiConfig struct {
	Issuer           string            `yaml:"issuer"`
	Storage          storageConfig     `yaml:"storage"`
	Web              webConfig         `yaml:"web"`
	Logger           map[string]string `yaml:"logger,omitempty"`
	Expiry           map[string]string `yaml:"expiry,omitempty"`
	OAuth2           oauth2Config      `yaml:"oauth2"`
	StaticClients    []staticClient    `yaml:"staticClients"`
	EnablePasswordDB bool              `yaml:"enablePasswordDB,omitempty"`
	StaticPasswords  []staticPassword  `yaml:"staticPasswords,omitempty"`
	Connectors       []connectorConfig `yaml:"connectors,omitempty"`
	Frontend         map[string]string `yaml:"frontend,omitempty"`
	// Sessions, when set, is written as `sessions: {}` (the defaults).
	Sessions *sessionsConfig `yaml:"sessions,omitempty"`
	// Kubeconfig is the kubeconfig page's block (kubeconfig_test.go).
	Kubeconfig *kubeconfigBlock `yaml:"kubeconfig,omitempty"`
}

type sessionsConfig struct{}

type storageConfig struct {
	Type   string            `yaml:"type"`
	Config map[string]string `yaml:"config,omitempty"`
}

type webConfig struct {
	HTTPS   string `yaml:"https"`
	TLSCert string `yaml:"tlsCert"`
	TLSKey  string `yaml:"tlsKey"`
}

type oauth2Config struct {
	SkipApprovalScreen    bool   `yaml:"skipApprovalScreen"`
	AlwaysShowLoginScreen bool   `yaml:"alwaysShowLoginScreen,omitempty"`
	PasswordConnector     string `yaml:"passwordConnector,omitempty"`
}

type staticClient struct {
	ID           string   `yaml:"id"`
	Name         string   `yaml:"name"`
	Secret       string   `yaml:"secret,omitempty"`
	Public       bool     `yaml:"public,omitempty"`
	RedirectURIs []string `yaml:"redirectURIs,omitempty"`
	// Logout and sessions keys (Dex master's).
	PostLogoutRedirectURIs   []string `yaml:"postLogoutRedirectURIs,omitempty"`
	PromptNoneWithoutSession string   `yaml:"promptNoneWithoutSession,omitempty"`
}

type staticPassword struct {
	Email             string   `yaml:"email"`
	Hash              string   `yaml:"hash"`
	Username          string   `yaml:"username"`
	PreferredUsername string   `yaml:"preferredUsername,omitempty"`
	UserID            string   `yaml:"userID"`
	Groups            []string `yaml:"groups,omitempty"`
	EmailVerified     *bool    `yaml:"emailVerified,omitempty"`
}

type connectorConfig struct {
	Type   string         `yaml:"type"`
	ID     string         `yaml:"id"`
	Name   string         `yaml:"name"`
	Config map[string]any `yaml:"config"`
}

// person is someone who can log in, and the claims torii must issue for
// them.
type person struct {
	Login, Password   string
	Email             string
	PreferredUsername string
	Groups            []string
}

// The clients every torii instance knows.
const (
	k8sClientID       = "kubernetes" // confidential: password grant (kubelogin, the authenticator tests)
	k8sClientSecret   = "kubernetes-client-secret"
	kubectlClientID   = "kubectl" // public: kubelogin's browser flow on a loopback port
	proxyClientID     = "oauth2-proxy"
	proxyClientSecret = "oauth2-proxy-client-secret"
	proxyRedirectURI  = "/oauth2/callback"
	rpClientID        = "openid-client"
	rpClientSecret    = "openid-client-secret"
	// rpRedirectURI is where the Node.js relying party expects the code;
	// nothing listens there: the test's browser stops at the redirect
	// and hands the URL to the script.
	rpRedirectURI = "http://127.0.0.1:9/callback"
)

func staticClients() []staticClient {
	return []staticClient{
		{ID: k8sClientID, Name: "Kubernetes", Secret: k8sClientSecret},
		{ID: kubectlClientID, Name: "kubectl", Public: true},
		{ID: proxyClientID, Name: "Kubeflow", Secret: proxyClientSecret, RedirectURIs: []string{proxyRedirectURI}},
		{ID: rpClientID, Name: "Node.js app", Secret: rpClientSecret, RedirectURIs: []string{rpRedirectURI}},
	}
}

// Static users. staticJane is the one every client logs in as;
// staticUnverified has emailVerified: false.
func staticJane() person {
	return person{
		Login: "jane@example.com", Password: "jane-static-password", Email: "jane@example.com",
		PreferredUsername: "jane", Groups: []string{"admins", "developers"},
	}
}

func staticUnverified() person {
	return person{
		Login: "unverified@example.com", Password: "unverified-password", Email: "unverified@example.com",
		PreferredUsername: "unverified", Groups: []string{"developers"},
	}
}

func staticPasswords(t *testing.T) []staticPassword {
	t.Helper()
	hash := func(pw string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	no := false
	jane, unv := staticJane(), staticUnverified()
	return []staticPassword{
		{Email: jane.Email, Hash: hash(jane.Password), Username: "Jane Doe", PreferredUsername: "jane",
			UserID: "08a8684b-db88-4b73-90a9-3cd1661f5466", Groups: jane.Groups},
		{Email: unv.Email, Hash: hash(unv.Password), Username: "Unverified User",
			PreferredUsername: "unverified", UserID: "7c4c7a1c-5a0e-4a8e-9d0b-3f3e8f1f0c11",
			Groups: unv.Groups, EmailVerified: &no},
	}
}

// toriiProc is one running `torii serve`.
type toriiProc struct {
	Name    string
	Issuer  string // https://127.0.0.1:PORT/dex
	Addr    string // 127.0.0.1:PORT
	Config  string // path of config.yaml
	LogFile string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// newToriiConfig is the config every instance starts from: HTTPS with the
// test CA, SQLite storage, the suite's clients, no approval screen.
func (s *suite) newToriiConfig(t *testing.T, name string) (toriiConfig, string) {
	t.Helper()
	addr := freePort(t)
	dir := filepath.Join(s.dir, "torii-"+name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return toriiConfig{
		Issuer:        "https://" + addr + "/dex",
		Storage:       storageConfig{Type: "sqlite3", Config: map[string]string{"file": filepath.Join(dir, "torii.db")}},
		Web:           webConfig{HTTPS: addr, TLSCert: s.ca.CertFile, TLSKey: s.ca.KeyFile},
		Logger:        map[string]string{"level": "debug"},
		OAuth2:        oauth2Config{SkipApprovalScreen: true},
		StaticClients: staticClients(),
	}, dir
}

// staticConfig is an instance whose users are staticPasswords.
func (s *suite) staticConfig(t *testing.T, name string) (toriiConfig, string) {
	c, dir := s.newToriiConfig(t, name)
	c.EnablePasswordDB = true
	c.StaticPasswords = staticPasswords(t)
	c.OAuth2.PasswordConnector = "local"
	return c, dir
}

// checkConfig runs `torii check-config`; a non-nil error carries its output.
func (s *suite) checkConfig(t *testing.T, c toriiConfig, dir string) error {
	t.Helper()
	path := writeToriiConfig(t, c, dir)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, s.bin.torii, "check-config", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

func writeToriiConfig(t *testing.T, c toriiConfig, dir string) string {
	t.Helper()
	data, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startTorii runs `torii serve` with c and waits until its discovery
// document answers. The process is stopped when t ends; its log is kept in
// artifacts/torii-NAME.log.
func (s *suite) startTorii(t *testing.T, name string, c toriiConfig, dir string) *toriiProc {
	t.Helper()
	return s.startToriiFile(t, name, writeToriiConfig(t, c, dir), dir, c.Issuer, nil)
}

// startToriiFile is startTorii for a config file written elsewhere, with
// extra environment variables (name=value) for the config to read.
func (s *suite) startToriiFile(t *testing.T, name, path, dir, issuer string, env []string) *toriiProc {
	t.Helper()
	logPath := filepath.Join(s.artifacts, "torii-"+name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(s.bin.torii, "serve", path)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start torii: %v", err)
	}
	u, _ := url.Parse(issuer)
	p := &toriiProc{Name: name, Issuer: issuer, Addr: u.Host, Config: path, LogFile: logPath, cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logf.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Signal(os.Interrupt)
			select {
			case <-p.exited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-p.exited
			}
		}
	})
	if err := p.waitReady(t.Context(), s.ca.client()); err != nil {
		t.Fatalf("torii %s did not start: %v\n--- %s:\n%s", name, err, logPath, tail(logPath, 40))
	}
	return p
}

func (p *toriiProc) waitReady(ctx context.Context, hc *http.Client) error {
	deadline := time.Now().Add(60 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return fmt.Errorf("torii exited: %v", p.waitErr)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		resp, err := hc.Get(p.Issuer + "/.well-known/openid-configuration")
		if err == nil {
			var doc struct {
				Issuer string `json:"issuer"`
			}
			err = json.NewDecoder(resp.Body).Decode(&doc)
			resp.Body.Close()
			if err == nil && resp.StatusCode == http.StatusOK && doc.Issuer == p.Issuer {
				return nil
			}
			if err == nil {
				err = fmt.Errorf("discovery: HTTP %d, issuer %q", resp.StatusCode, doc.Issuer)
			}
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return errors.Join(errors.New("not ready after 60s"), last)
}

// tail returns the last n lines of a file, for failure messages.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
