package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// cli runs `torii ARGS` in process and returns its output and status.
func cli(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &o, &e)
	return o.String(), e.String(), code
}

func TestAdminCLI(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "admin.sock")
	e := startAdminTorii(t, func(*testPKI) string { return "grpc:\n  addr: unix:" + sock + "\n" })
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %s: %v %v; want mode 0600", sock, fi, err)
	}
	addr := "--addr=unix:" + sock

	var id, secret string
	t.Run("client create prints the secret once", func(t *testing.T) {
		out, errOut, code := cli(t, "", "client", "create", addr, "--name", "Grafana", "--redirect-uri", "http://127.0.0.1:7777/cb",
			"--redirect-uri", "http://127.0.0.1:7778/cb")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		m := regexp.MustCompile(`client (\S+) created\nsecret: (\S+)\n`).FindStringSubmatch(out)
		if m == nil || !strings.Contains(errOut, "shown only now") {
			t.Fatalf("output %q / %q", out, errOut)
		}
		id, secret = m[1], m[2]
	})
	t.Run("the CLI-created client works", func(t *testing.T) {
		status, tok := codeFlow(t, e.issuer, id, secret, "http://127.0.0.1:7778/cb", "admin@example.com", "password", "openid")
		if status != http.StatusOK {
			t.Fatalf("%d %v", status, tok)
		}
	})
	t.Run("client list, table and json", func(t *testing.T) {
		out, errOut, code := cli(t, "", "client", "list", addr)
		if code != 0 || !regexp.MustCompile(`(?m)^ID\s+NAME\s+PUBLIC\s+REDIRECT URIS\s+TRUSTED PEERS$`).MatchString(out) ||
			!regexp.MustCompile(`(?m)^`+id+`\s+Grafana\s+false\s+http://127.0.0.1:7777/cb,http://127.0.0.1:7778/cb\s+-$`).MatchString(out) ||
			!strings.Contains(out, "static-app") {
			t.Errorf("client list: %d\n%s%s", code, out, errOut)
		}
		out, _, code = cli(t, "", "client", "list", addr, "-o", "json")
		var list []map[string]any
		if err := json.Unmarshal([]byte(out), &list); err != nil || code != 0 || len(list) != 2 || list[0]["id"] != id {
			t.Errorf("client list -o json: %d %v\n%s", code, err, out)
		}
		if strings.Contains(out, "static-secret") || strings.Contains(out, secret) {
			t.Error("client list shows a secret")
		}
	})
	t.Run("client get and update", func(t *testing.T) {
		if _, errOut, code := cli(t, "", "client", "update", id, addr, "--name", "Grafana 2"); code != 0 {
			t.Fatalf("update: %d %s", code, errOut)
		}
		out, _, code := cli(t, "", "client", "get", id, addr, "-o", "json")
		var c map[string]any
		if err := json.Unmarshal([]byte(out), &c); err != nil || code != 0 || c["name"] != "Grafana 2" || c["secret"] != nil {
			t.Errorf("client get: %d %v %s", code, err, out)
		}
		out, _, _ = cli(t, "", "client", "get", "static-app", addr)
		if !regexp.MustCompile(`(?m)^name\s+Static App$`).MatchString(out) || strings.Contains(out, "static-secret") {
			t.Errorf("client get static-app:\n%s", out)
		}
		if _, errOut, code := cli(t, "", "client", "update", "static-app", addr, "--name", "x"); code != 1 ||
			!strings.Contains(errOut, "static clients: read-only cannot update client") {
			t.Errorf("update of a static client: %d %s", code, errOut)
		}
		if _, errOut, code := cli(t, "", "client", "get", "nope", addr); code != 1 || !strings.Contains(errOut, `no client "nope"`) {
			t.Errorf("get unknown: %d %s", code, errOut)
		}
		if _, errOut, code := cli(t, "", "client", "update", id, addr); code != 2 || !strings.Contains(errOut, "nothing to update") {
			t.Errorf("update without flags: %d %s", code, errOut)
		}
	})

	t.Run("user add, list, passwd", func(t *testing.T) {
		if _, errOut, code := cli(t, "first password\n", "user", "add", "carol@example.com", addr, "--user-id", "carol-1"); code != 0 {
			t.Fatalf("user add: %d %s", code, errOut)
		}
		if _, errOut, code := cli(t, "x\n", "user", "add", "carol@example.com", addr); code != 1 || !strings.Contains(errOut, "already exists") {
			t.Errorf("user add twice: %d %s", code, errOut)
		}
		out, _, code := cli(t, "", "user", "list", addr)
		if code != 0 || !regexp.MustCompile(`(?m)^carol@example.com\s+carol\s+carol-1$`).MatchString(out) ||
			!regexp.MustCompile(`(?m)^admin@example.com\s+admin\s+1$`).MatchString(out) {
			t.Errorf("user list: %d\n%s", code, out)
		}
		if _, errOut, code := cli(t, "second password\n", "user", "passwd", "carol@example.com", addr); code != 0 {
			t.Fatalf("user passwd: %d %s", code, errOut)
		}
		if status, _ := codeFlow(t, e.issuer, "static-app", "static-secret", "http://127.0.0.1:5555/callback", "carol@example.com", "second password", "openid"); status != http.StatusOK {
			t.Errorf("login with the new password: %d", status)
		}
	})
	t.Run("tokens list and revoke", func(t *testing.T) {
		_, t1 := codeFlow(t, e.issuer, "static-app", "static-secret", "http://127.0.0.1:5555/callback", "carol@example.com", "second password", "openid offline_access")
		_, t2 := codeFlow(t, e.issuer, id, secret, "http://127.0.0.1:7777/cb", "carol@example.com", "second password", "openid offline_access")
		out, errOut, code := cli(t, "", "tokens", "list", "carol@example.com", addr)
		if code != 0 || strings.Count(out, "\n") != 3 || !strings.Contains(out, "static-app") || !strings.Contains(out, id) {
			t.Fatalf("tokens list: %d\n%s%s", code, out, errOut)
		}
		sub := subOf(t, t1["id_token"].(string))
		out, _, _ = cli(t, "", "tokens", "list", sub, addr, "-o", "json")
		var fams []map[string]any
		if err := json.Unmarshal([]byte(out), &fams); err != nil || len(fams) != 2 {
			t.Errorf("tokens list SUB -o json: %v %s", err, out)
		}
		if _, errOut, code := cli(t, "", "tokens", "revoke", "carol@example.com", "static-app", addr); code != 0 {
			t.Fatalf("tokens revoke: %d %s", code, errOut)
		}
		if status, body := tokenCall(t, e.issuer, "static-app", "static-secret", refreshForm(t1)); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Errorf("revoked refresh: %d %v", status, body)
		}
		if status, body := tokenCall(t, e.issuer, id, secret, refreshForm(t2)); status != http.StatusOK {
			t.Errorf("other family: %d %v", status, body)
		}
		// Without CLIENT: every client (user ID with --connector this time).
		if _, errOut, code := cli(t, "", "tokens", "revoke", "carol-1", "--connector", "local", addr); code != 0 {
			t.Fatalf("tokens revoke USER: %d %s", code, errOut)
		}
		if out, _, _ := cli(t, "", "tokens", "list", "carol@example.com", addr); strings.Count(out, "\n") != 1 {
			t.Errorf("tokens left after revoking all:\n%s", out)
		}
		if _, errOut, code := cli(t, "", "tokens", "revoke", "carol@example.com", addr); code != 1 || !strings.Contains(errOut, "has no refresh tokens") {
			t.Errorf("revoke with nothing left: %d %s", code, errOut)
		}
	})
	t.Run("user delete and client delete", func(t *testing.T) {
		if _, errOut, code := cli(t, "", "user", "delete", "carol@example.com", addr); code != 0 {
			t.Fatalf("user delete: %d %s", code, errOut)
		}
		if _, errOut, code := cli(t, "", "user", "delete", "admin@example.com", addr); code != 1 || !strings.Contains(errOut, "static passwords: read-only") {
			t.Errorf("delete static user: %d %s", code, errOut)
		}
		if _, errOut, code := cli(t, "", "client", "delete", id, addr); code != 0 {
			t.Fatalf("client delete: %d %s", code, errOut)
		}
		if _, errOut, code := cli(t, "", "client", "delete", id, addr); code != 1 || !strings.Contains(errOut, "no client") {
			t.Errorf("client delete twice: %d %s", code, errOut)
		}
	})
	t.Run("sessions of a user without any", func(t *testing.T) {
		if out, errOut, code := cli(t, "", "sessions", "list", "x", addr, "-o", "json"); code != 0 || strings.TrimSpace(out) != "[]" {
			t.Errorf("sessions list: %d %q %s", code, out, errOut)
		}
		if _, errOut, code := cli(t, "", "sessions", "delete", "x", "--connector", "local", addr); code != 1 || !strings.Contains(errOut, "no session") {
			t.Errorf("sessions delete: %d %s", code, errOut)
		}
	})
	t.Run("usage errors", func(t *testing.T) {
		for _, args := range [][]string{{"client"}, {"client", "frobnicate"}, {"client", "get"}, {"user", "add"}, {"tokens", "list"}, {"client", "list", "-o", "yaml"},
			{"sessions"}, {"sessions", "list", "x", "y"}, {"sessions", "end"}, {"sessions", "frobnicate", "x"}, {"sessions", "delete", "x"}, {"sessions", "terminate", "x", "--connector", "local"}} {
			if _, _, code := cli(t, "", args...); code != 2 {
				t.Errorf("torii %v: exit %d, want 2", args, code)
			}
		}
	})
}

func refreshForm(tok map[string]any) map[string][]string {
	return map[string][]string{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}
}

func TestAdminCLIMutualTLS(t *testing.T) {
	e := startAdminTorii(t, func(p *testPKI) string { return mtlsBlock(p, t) })
	t.Run("flags", func(t *testing.T) {
		out, errOut, code := cli(t, "", "client", "list", "--addr", e.grpcAddr, "--ca", e.pki.CAFile, "--cert", e.certFile, "--key", e.keyFile)
		if code != 0 || !strings.Contains(out, "static-app") {
			t.Errorf("client list over mutual TLS: %d %s %s", code, out, errOut)
		}
	})
	t.Run("environment", func(t *testing.T) {
		t.Setenv("TORII_ADMIN_ADDR", e.grpcAddr)
		t.Setenv("TORII_ADMIN_CA", e.pki.CAFile)
		t.Setenv("TORII_ADMIN_CERT", e.certFile)
		t.Setenv("TORII_ADMIN_KEY", e.keyFile)
		out, errOut, code := cli(t, "", "user", "list", "-o", "json")
		if code != 0 || !strings.Contains(out, `"admin@example.com"`) {
			t.Errorf("user list from the environment: %d %s %s", code, out, errOut)
		}
	})
	t.Run("no client certificate: a friendly error", func(t *testing.T) {
		_, errOut, code := cli(t, "", "client", "list", "--addr", e.grpcAddr, "--ca", e.pki.CAFile)
		if code != 1 || !strings.Contains(errOut, "cannot reach the torii admin API at "+e.grpcAddr) || !strings.Contains(errOut, "--cert/--key") {
			t.Errorf("without a client certificate: %d %s", code, errOut)
		}
	})
	t.Run("nothing listening: a friendly error", func(t *testing.T) {
		_, errOut, code := cli(t, "", "client", "list", "--addr", freeAddr(t))
		if code != 1 || !strings.Contains(errOut, "cannot reach the torii admin API") || !strings.Contains(errOut, "grpc.addr") {
			t.Errorf("nothing listening: %d %s", code, errOut)
		}
	})
}
