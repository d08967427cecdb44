package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// rpResult is what node/rp.mjs prints at the end.
type rpResult struct {
	Error               string         `json:"error"`
	Cause               string         `json:"cause"`
	Authorize           string         `json:"authorize"`
	Claims              map[string]any `json:"claims"`
	Userinfo            map[string]any `json:"userinfo"`
	RefreshedClaims     map[string]any `json:"refreshedClaims"`
	RefreshTokenRotated bool           `json:"refreshTokenRotated"`
}

// nodeDir returns test/interop/node with its packages installed
// (openid-client and oidc-provider; npm ci
// from the committed lock file when node_modules is missing).
func nodeDir(t *testing.T) string {
	t.Helper()
	wd, _ := os.Getwd()
	dir := filepath.Join(wd, "node")
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node not found: install Node.js 20 or later")
	}
	_, rpErr := os.Stat(filepath.Join(dir, "node_modules", "openid-client"))
	_, opErr := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider"))
	if rpErr != nil || opErr != nil {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	return dir
}

func (s *suite) testOpenIDClient(t *testing.T, sources []*source) {
	t.Run("openid-client", func(t *testing.T) {
		s.forEachSource(t, sources, func(t *testing.T, src *source) {
			s.scenario(t, "code-pkce-userinfo-refresh", func(t *testing.T) {
				res := s.runRP(t, src)
				c := res.Claims
				if c["iss"] != src.Torii.Issuer || c["aud"] != rpClientID && !slices.Contains(stringList(c["aud"]), rpClientID) {
					t.Errorf("ID token iss %v aud %v", c["iss"], c["aud"])
				}
				if c["email"] != src.Who.Email || c["email_verified"] != true {
					t.Errorf("ID token email %v (verified %v), want %s (true)", c["email"], c["email_verified"], src.Who.Email)
				}
				if g := slices.Sorted(slices.Values(stringList(c["groups"]))); !slices.Equal(g, slices.Sorted(slices.Values(src.Who.Groups))) {
					t.Errorf("ID token groups %q, want %q", g, src.Who.Groups)
				}
				if sub, _ := c["sub"].(string); sub == "" || res.Userinfo["sub"] != sub {
					t.Errorf("userinfo sub %v, ID token sub %v", res.Userinfo["sub"], c["sub"])
				}
				if res.Userinfo["email"] != src.Who.Email {
					t.Errorf("userinfo email %v, want %s", res.Userinfo["email"], src.Who.Email)
				}
				if res.RefreshedClaims == nil || res.RefreshedClaims["sub"] != c["sub"] || res.RefreshedClaims["email"] != src.Who.Email {
					t.Errorf("refreshed ID token claims %v, want the same sub and email", res.RefreshedClaims)
				}
				if !res.RefreshTokenRotated {
					t.Errorf("refresh did not rotate the refresh token (torii rotates by default)")
				}
			})
		})
	})
}

// runRP runs node/rp.mjs and is its user's browser.
func (s *suite) runRP(t *testing.T, src *source) rpResult {
	t.Helper()
	dir := nodeDir(t)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "rp.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"NODE_EXTRA_CA_CERTS="+s.ca.CAFile,
		"ISSUER="+src.Torii.Issuer,
		"CLIENT_ID="+rpClientID,
		"CLIENT_SECRET="+rpClientSecret,
		"REDIRECT_URI="+rpRedirectURI,
	)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); _ = cmd.Wait() }()
	lines := bufio.NewScanner(stdout)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	next := func() rpResult {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("rp.mjs printed nothing more: %v\nstderr:\n%s", lines.Err(), stderr.String())
		}
		var r rpResult
		if err := json.Unmarshal(lines.Bytes(), &r); err != nil {
			t.Fatalf("rp.mjs: %v: %s", err, lines.Text())
		}
		if r.Error != "" {
			t.Fatalf("openid-client failed: %s\ncause: %s\n--- torii log:\n%s", r.Error, r.Cause, tail(src.Torii.LogFile, 15))
		}
		return r
	}
	first := next()
	b := newBrowser(s.ca)
	b.stopAt = func(u *url.URL) bool { return strings.HasPrefix(u.String(), rpRedirectURI) }
	p, err := b.login(first.Authorize, src.ConnectorID, src.Who)
	if err != nil {
		t.Fatalf("browser login: %v", err)
	}
	if !strings.HasPrefix(p.Location, rpRedirectURI) {
		t.Fatalf("torii did not redirect to the app's callback: %s", p)
	}
	if _, err := stdin.Write([]byte(p.Location + "\n")); err != nil {
		t.Fatal(err)
	}
	return next()
}
