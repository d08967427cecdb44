package kubernetes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const kubeConfigHead = `apiVersion: v1
kind: Config
current-context: c
contexts:
- name: c
  context: {cluster: k, user: u, namespace: ns}
`

// TestKubeConfigRefusals: what torii does not implement is refused by
// name, never ignored.
func TestKubeConfigRefusals(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, file, want string
	}{
		{"exec plugin", kubeConfigHead + "clusters:\n- name: k\n  cluster: {server: https://a:6443}\nusers:\n- name: u\n  user:\n    exec: {command: aws}\n",
			"users[u].user.exec: exec credential plugins are not supported"},
		{"auth-provider", kubeConfigHead + "clusters:\n- name: k\n  cluster: {server: https://a:6443}\nusers:\n- name: u\n  user:\n    auth-provider: {name: gcp}\n",
			"users[u].user.auth-provider: auth-provider plugins are not supported"},
		{"basic auth", kubeConfigHead + "clusters:\n- name: k\n  cluster: {server: https://a:6443}\nusers:\n- name: u\n  user: {username: a, password: b}\n",
			"basic authentication is not supported"},
		{"insecure", kubeConfigHead + "clusters:\n- name: k\n  cluster: {server: https://a:6443, insecure-skip-tls-verify: true}\nusers:\n- name: u\n  user: {token: x}\n",
			"insecure-skip-tls-verify: torii always verifies"},
		{"unknown key", kubeConfigHead + "clusters:\n- name: k\n  cluster: {server: https://a:6443, colour: blue}\nusers:\n- name: u\n  user: {token: x}\n",
			"clusters[k].cluster.colour: unknown key"},
		{"plain http", kubeConfigHead + "clusters:\n- name: k\n  cluster: {server: http://a:8080}\nusers:\n- name: u\n  user: {token: x}\n",
			`server "http://a:8080" is not an https:// URL`},
		{"no current context", "apiVersion: v1\nkind: Config\n", "no current-context"},
		{"undefined context", "current-context: other\n", `context "other" (current-context) is not defined`},
		{"undefined cluster", kubeConfigHead, `cluster "k" of context "c" is not defined`},
		{"certificate without key", kubeConfigHead + "clusters:\n- name: k\n  cluster: {server: https://a:6443}\nusers:\n- name: u\n  user: {client-certificate-data: " + "eA==" + "}\n",
			"needs both the certificate and the key"},
		{"missing token file", kubeConfigHead + "clusters:\n- name: k\n  cluster: {server: https://a:6443}\nusers:\n- name: u\n  user: {tokenFile: absent}\n",
			"the service account token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, dir, strings.ReplaceAll(tt.name, " ", "-"), tt.file)
			_, err := Config{KubeConfigFile: p}.connect()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	t.Run("false insecure and a token file load", func(t *testing.T) {
		writeFile(t, dir, "tok", "tok-1\n")
		p := writeFile(t, dir, "ok", kubeConfigHead+"clusters:\n- name: k\n  cluster: {server: https://a:6443/, insecure-skip-tls-verify: false}\nusers:\n- name: u\n  user: {tokenFile: tok}\n")
		conn, err := Config{KubeConfigFile: p}.connect()
		if err != nil {
			t.Fatal(err)
		}
		tok, err := conn.client.token()
		if conn.namespace != "ns" || conn.client.base != "https://a:6443" || tok != "tok-1" || err != nil {
			t.Errorf("namespace %q base %q token %q %v", conn.namespace, conn.client.base, tok, err)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).Validate(); err == nil {
		t.Error("no source accepted")
	}
	if err := (Config{InCluster: true, KubeConfigFile: "x"}).Validate(); err == nil {
		t.Error("two sources accepted")
	}
}

// TestInClusterFiles: the namespace comes from KUBERNETES_POD_NAMESPACE,
// else the service account's file; a missing host is a clear error; the
// token is read again once the kubelet has replaced it.
func TestInClusterFiles(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	// A throwaway self-signed certificate is enough for the pool.
	writeFile(t, dir, "ca.crt", testCA)
	writeFile(t, dir, "token", "first\n")
	writeFile(t, dir, "namespace", "from-file\n")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := Config{InCluster: true, ServiceAccountDir: dir, LookupEnv: lookup, Now: func() time.Time { return now }}
	conn, err := cfg.connect()
	if err != nil {
		t.Fatal(err)
	}
	if conn.namespace != "from-file" || conn.client.base != "https://10.0.0.1:443" {
		t.Errorf("namespace %q base %q", conn.namespace, conn.client.base)
	}
	env["KUBERNETES_POD_NAMESPACE"] = "from-env"
	if conn, err := cfg.connect(); err != nil || conn.namespace != "from-env" {
		t.Errorf("KUBERNETES_POD_NAMESPACE ignored: %v %v", conn, err)
	}
	if tok, _ := conn.client.token(); tok != "first" {
		t.Errorf("token %q", tok)
	}
	p := writeFile(t, dir, "token", "second\n")
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(p, later, later); err != nil {
		t.Fatal(err)
	}
	if tok, _ := conn.client.token(); tok != "first" {
		t.Errorf("token re-read before the recheck interval: %q", tok)
	}
	now = now.Add(tokenRecheck + time.Second)
	if tok, _ := conn.client.token(); tok != "second" {
		t.Errorf("rotated token not picked up: %q", tok)
	}
	delete(env, "KUBERNETES_SERVICE_HOST")
	if _, err := cfg.connect(); err == nil || !strings.Contains(err.Error(), "KUBERNETES_SERVICE_HOST") {
		t.Errorf("no host: %v", err)
	}
}

func TestObjectNames(t *testing.T) {
	seen := map[string]string{}
	for _, id := range []string{"", "a", "A", "a/b", "..", strings.Repeat("x", 500), "ünï", "a\x00b"} {
		n := objectName(id)
		if len(n) != 64 || strings.Trim(n, "0123456789abcdef") != "" {
			t.Errorf("name of %q is %q: not 64 lower-case hex digits", id, n)
		}
		if other, dup := seen[n]; dup {
			t.Errorf("%q and %q share the name %s", id, other, n)
		}
		seen[n] = id
		if v := labelValue(id); len(v) > 63 || strings.Trim(v, "abcdefghijklmnopqrstuvwxyz234567") != "" {
			t.Errorf("label value of %q is %q", id, v)
		}
	}
}

// testCA is a throwaway self-signed certificate (no key kept).
const testCA = `-----BEGIN CERTIFICATE-----
MIIBezCCASGgAwIBAgIUDnrH3yHs0KXM90V4T9m/OyYJj5swCgYIKoZIzj0EAwIw
EjEQMA4GA1UEAwwHdGVzdC1jYTAgFw0yNjEyMDIwMTQyNTFaGA8yMTI2MTEwODAx
NDI1MVowEjEQMA4GA1UEAwwHdGVzdC1jYTBZMBMGByqGSM49AgEGCCqGSM49AwEH
A0IABHnuF9Km46U0WtPyp/5MBFryA/pDt20iJ06K9bOaycGLi9fl6ROzi53owlkf
6970/Aqv5WQD/YcG7OMY7QlwrCijUzBRMB0GA1UdDgQWBBT/UQFrUNefVWM4wx9t
Cc2uEs10jzAfBgNVHSMEGDAWgBT/UQFrUNefVWM4wx9tCc2uEs10jzAPBgNVHRMB
Af8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIC0GgDaIVNh2P+WjGQ2Fhax4RkVx
4amxM3tGRBRMy90wAiEA5KxwmNS2cW0ZCgrUmrLUPDjXnG8lmfOie1yvezSWHx4=
-----END CERTIFICATE-----`
