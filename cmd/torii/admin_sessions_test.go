package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// torii sessions, against `torii serve` with sessions on and the admin API
// on mutual TLS.
func TestSessionsCLI(t *testing.T) {
	e := startAdminTorii(t, func(p *testPKI) string { return mtlsBlock(p, t) + "sessions: {}\n" })
	conn := []string{"--addr", e.grpcAddr, "--ca", e.pki.CAFile, "--cert", e.certFile, "--key", e.keyFile, "--server-name", "127.0.0.1"}
	run := func(args ...string) (string, string, int) {
		t.Helper()
		return cli(t, "", append(args, conn...)...)
	}
	list := func(user string) []map[string]any {
		t.Helper()
		args := []string{"sessions", "list", "-o", "json"}
		if user != "" {
			args = append(args, user)
		}
		out, errOut, code := run(args...)
		var l []map[string]any
		if err := json.Unmarshal([]byte(out), &l); code != 0 || err != nil {
			t.Fatalf("sessions list %s: %d %v %s%s", user, code, err, out, errOut)
		}
		return l
	}

	// Two browsers sign in; the second asks for offline access.
	if st, tok := codeFlow(t, e.issuer, "static-app", "static-secret", "http://127.0.0.1:5555/callback", "admin@example.com", "password", "openid"); st != http.StatusOK {
		t.Fatalf("login 1: %d %v", st, tok)
	}
	st, tok := codeFlow(t, e.issuer, "static-app", "static-secret", "http://127.0.0.1:5555/callback", "admin@example.com", "password", "openid offline_access")
	if st != http.StatusOK || tok["refresh_token"] == nil {
		t.Fatalf("login 2: %d %v", st, tok)
	}
	sub := subOf(t, tok["id_token"].(string))

	var ids []string
	if !t.Run("list, table and json", func(t *testing.T) {
		out, errOut, code := run("sessions", "list", "admin@example.com")
		if code != 0 || !regexp.MustCompile(`(?m)^ID\s+USER\s+CONNECTOR\s+CREATED\s+LAST USED\s+EXPIRES\s+CLIENTS$`).MatchString(out) ||
			len(regexp.MustCompile(`(?m)^[A-Za-z0-9_-]{16}\s+1\s+local\s+\S+\s+\S+\s+\S+\s+static-app$`).FindAllString(out, -1)) != 2 {
			t.Fatalf("sessions list: %d\n%s%s", code, out, errOut)
		}
		for _, s := range list("admin@example.com") {
			if s["userID"] != "1" || s["connectorID"] != "local" {
				t.Errorf("session %v", s)
			}
			ids = append(ids, s["id"].(string))
		}
		if len(ids) != 2 || ids[0] == ids[1] {
			t.Fatalf("ids %v", ids)
		}
		// The same user named by the sub of their tokens, or by user ID.
		if n := len(list(sub)); n != 2 {
			t.Errorf("sessions list SUB: %d sessions, want 2", n)
		}
		if n := len(list("1")); n != 2 {
			t.Errorf("sessions list 1: %d sessions, want 2", n)
		}
		out, errOut, code = run("sessions", "list", "1", "--connector", "ldap", "-o", "json")
		if code != 0 || strings.TrimSpace(out) != "[]" {
			t.Errorf("sessions list --connector ldap: %d %q %s", code, out, errOut)
		}
		// No USER: every session of the store (ListAuthSessions with an
		// empty user_id), as a table and as json, and by connector.
		out, errOut, code = run("sessions", "list")
		if code != 0 || len(regexp.MustCompile(`(?m)^[A-Za-z0-9_-]{16}\s+1\s+local\s`).FindAllString(out, -1)) != 2 {
			t.Errorf("sessions list (all): %d\n%s%s", code, out, errOut)
		}
		if n := len(list("")); n != 2 {
			t.Errorf("sessions list (all) -o json: %d sessions, want 2", n)
		}
		out, errOut, code = run("sessions", "list", "--connector", "ldap", "-o", "json")
		if code != 0 || strings.TrimSpace(out) != "[]" {
			t.Errorf("sessions list --connector ldap (all users): %d %q %s", code, out, errOut)
		}
		if _, errOut, code := run("sessions", "list", "1", "2"); code != 2 || !strings.Contains(errOut, "usage") {
			t.Errorf("sessions list with two users: %d %s", code, errOut)
		}
	}) {
		return
	}
	t.Run("delete one", func(t *testing.T) {
		if _, errOut, code := run("sessions", "delete", "admin@example.com", "--id", ids[0]); code != 0 || !strings.Contains(errOut, "ended") {
			t.Fatalf("sessions delete: %d %s", code, errOut)
		}
		if l := list("admin@example.com"); len(l) != 1 || l[0]["id"] != ids[1] {
			t.Fatalf("after delete: %v", l)
		}
		if _, errOut, code := run("sessions", "delete", "admin@example.com", "--id", ids[0]); code != 1 || !strings.Contains(errOut, "no session") {
			t.Errorf("sessions delete twice: %d %s", code, errOut)
		}
		if _, errOut, code := run("sessions", "delete", "1"); code != 2 || !strings.Contains(errOut, "--connector") {
			t.Errorf("sessions delete without a connector: %d %s", code, errOut)
		}
	})
	t.Run("end and terminate", func(t *testing.T) {
		out, errOut, code := run("sessions", "end", sub)
		if code != 0 || !strings.Contains(out, "1 sessions of") {
			t.Fatalf("sessions end: %d %s%s", code, out, errOut)
		}
		if l := list("admin@example.com"); len(l) != 0 {
			t.Errorf("after end: %v", l)
		}
		out, _, code = run("sessions", "terminate", "admin@example.com", "-o", "json")
		if code != 0 || !strings.Contains(out, `"sessionsTerminated": 0`) {
			t.Errorf("sessions terminate again: %d %s", code, out)
		}
		if _, errOut, code := run("sessions", "end", "1", "--connector", "local"); code != 2 || !strings.Contains(errOut, "sessions delete") {
			t.Errorf("sessions end USER --connector: %d %s", code, errOut)
		}
		if _, errOut, code := run("sessions", "end"); code != 2 || !strings.Contains(errOut, "usage") {
			t.Errorf("sessions end without USER: %d %s", code, errOut)
		}
		// terminate --connector ID: every user's sessions on the connector.
		if st, tok := codeFlow(t, e.issuer, "static-app", "static-secret", "http://127.0.0.1:5555/callback", "admin@example.com", "password", "openid"); st != http.StatusOK {
			t.Fatalf("login 3: %d %v", st, tok)
		}
		out, errOut, code = run("sessions", "terminate", "--connector", "local")
		if code != 0 || !strings.Contains(out, "1 sessions on connector local ended") {
			t.Fatalf("sessions terminate --connector local: %d %s%s", code, out, errOut)
		}
		if l := list(""); len(l) != 0 {
			t.Errorf("after terminate --connector: %v", l)
		}
	})
	t.Run("offline access outlives the session", func(t *testing.T) {
		st, r := tokenCall(t, e.issuer, "static-app", "static-secret", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}})
		if st != http.StatusOK {
			t.Errorf("refresh after the session ended: %d %v; an offline_access token is not the session's", st, r)
		}
	})
	t.Run("mutual TLS: no certificate, no sessions", func(t *testing.T) {
		_, errOut, code := cli(t, "", "sessions", "list", "1", "--addr", e.grpcAddr, "--ca", e.pki.CAFile, "--server-name", "127.0.0.1")
		if code != 1 || errOut == "" {
			t.Errorf("without a client certificate: %d %s", code, errOut)
		}
	})
}
