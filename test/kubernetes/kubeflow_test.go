package kubernetes_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// Kubeflow's Secret values (deploy/overlays/kubeflow/secret_params.env)
// and the static user's password ("password", hashed in the test).
const (
	kfClientID     = "kubeflow-oidc-authservice"
	kfClientSecret = "pUBnBOY80SnXgjibTYM9ZWNzY2xreNGQok"
	kfRedirect     = "/oauth2/callback"
	kfUser         = "user@example.com"
	kfHash         = "$2a$10$wc6c7WKVQlp2//EoflgSxufCcsFPkSNa3hh7mFfvWT6cGL4HsYChm" // "password"
)

// kubeflowConfig is the config.yaml of deploy/overlays/kubeflow's
// ConfigMap, with only the issuer's host and port and web.http replaced
// (storage stays kubernetes inCluster).
func kubeflowConfig(t *testing.T, addr string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), "deploy", "overlays", "kubeflow", "config-map.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	if err := yaml.Unmarshal(b, &cm); err != nil {
		t.Fatal(err)
	}
	cfg := cm.Data["config.yaml"]
	if !strings.Contains(cfg, "type: kubernetes") || !strings.Contains(cfg, "inCluster: true") {
		t.Fatalf("the Kubeflow overlay's config no longer uses kubernetes storage in cluster:\n%s", cfg)
	}
	cfg = strings.Replace(cfg, "http://dex.auth.svc.cluster.local:5556/dex", "http://"+addr+"/dex", 1)
	cfg = strings.Replace(cfg, "http: 0.0.0.0:5556", "http: "+addr, 1)
	return []byte(cfg)
}

// toriiBinary builds cmd/torii.
func toriiBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "torii")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/torii")
	cmd.Dir = repoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/torii: %v\n%s", err, out)
	}
	return bin
}

// TestKubeflowDexConfig runs two torii processes with the Kubeflow
// overlay's config, unchanged but for addresses, as pods in namespace
// auth with the service account files of the overlay's RBAC: a browser
// logs in through one, the code is exchanged on the other, the refresh
// token is refreshed on the first.
func TestKubeflowDexConfig(t *testing.T) {
	bin := toriiBinary(t)
	ns := namespace("auth")
	token := newToken(shared, "system:serviceaccount:"+ns+":dex", saRules(t))
	saDir := serviceAccountDir(t, shared, token, ns)
	var bases []string
	for i := range 2 {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		bases = append(bases, "http://"+addr)
		dir := t.TempDir()
		cfgFile := filepath.Join(dir, "config.yaml")
		// Both replicas answer for the first one's issuer (behind one Service in the cluster).
		if err := os.WriteFile(cfgFile, kubeflowConfig(t, strings.TrimPrefix(bases[0], "http://")), 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cmd := exec.CommandContext(ctx, bin, "serve", "--web-http-addr", addr, cfgFile)
		cmd.Env = append(os.Environ(),
			"KUBERNETES_SERVICE_HOST="+shared.host, "KUBERNETES_SERVICE_PORT="+shared.port,
			"TORII_SERVICE_ACCOUNT_DIR="+saDir,
			"DEX_USER_PASSWORD="+kfHash, "OIDC_CLIENT_ID="+kfClientID, "OIDC_CLIENT_SECRET="+kfClientSecret)
		var logs bytes.Buffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cancel()
			_ = cmd.Wait()
			if t.Failed() {
				t.Logf("replica %d log:\n%s", i, tail(logs.String(), 30))
			}
		})
		waitReady(t, "http://"+addr+issuerPath)
	}
	issuer := bases[0] + "/dex"
	b := newBrowser(t, issuer, bases...)
	code := b.LoginAs(kfClientID, kfRedirect, kfUser, "password")
	tr := postToken(t, bases[1], url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {kfRedirect}})
	if tr.Status != http.StatusOK || tr.IDToken == "" {
		t.Fatalf("code exchange on the second replica: %v", tr)
	}
	if tr.RefreshToken != "" {
		got := postToken(t, bases[0], url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}})
		if got.Status != http.StatusOK {
			t.Fatalf("refresh on the first replica: %v", got)
		}
	}
	// The code is single use across replicas.
	if again := postToken(t, bases[0], url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {kfRedirect}}); again.Status != http.StatusBadRequest {
		t.Errorf("replayed code on the first replica: %v; want 400", again)
	}
}

func postToken(t *testing.T, base string, form url.Values) tokenResponse {
	t.Helper()
	c := &http.Client{Timeout: 30 * time.Second}
	req, _ := http.NewRequest(http.MethodPost, base+issuerPath+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(kfClientID, kfClientSecret)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr tokenResponse
	_ = jsonDecode(resp, &tr)
	tr.Status = resp.StatusCode
	return tr
}

// waitReady polls base/healthz/ready (bounded).
func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/healthz/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s not ready after 60 s", base)
}

func tail(s string, n int) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func jsonDecode(resp *http.Response, v any) error {
	return json.NewDecoder(resp.Body).Decode(v)
}
