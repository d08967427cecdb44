package kubernetes_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// dexPlurals are every kind Dex v2.45.1's kubernetes storage creates.
var dexPlurals = []string{"authcodes", "authrequests", "oauth2clients", "signingkeies", "refreshtokens",
	"passwords", "offlinesessionses", "connectors", "devicerequests", "devicetokens"}

// dexRules are the rights Dex's own deployments grant it: its CRDs, and
// everything on dex.coreos.com.
func dexRules() []rule {
	return []rule{
		{APIGroups: []string{"apiextensions.k8s.io"}, Resources: []string{"customresourcedefinitions"}, Verbs: []string{"create", "get", "list"}},
		{APIGroups: []string{"dex.coreos.com"}, Resources: []string{"*"}, Verbs: []string{"*"}},
	}
}

// importRules are torii's rights for the switch: deploy/base/rbac.yaml and
// the optional deploy/components/import-dex.
func importRules(t testing.TB) []rule {
	t.Helper()
	extra, err := manifestRules(filepath.Join(repoRoot(), "deploy", "components", "import-dex", "rbac.yaml"), "Role")
	if err != nil || len(extra) == 0 {
		t.Fatalf("deploy/components/import-dex/rbac.yaml: %v (%d rules)", err, len(extra))
	}
	return append(saRules(t), extra...)
}

// restAPI is a bare REST client of the test API server, for looking at (and,
// in benchmarks, seeding) Dex's objects behind the programs' backs.
type restAPI struct {
	c     *cluster
	token string
	http  *http.Client
}

func newAPI(t testing.TB, c *cluster, token string) *restAPI {
	t.Helper()
	ca, err := os.ReadFile(c.caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	return &restAPI{c: c, token: token, http: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}}
}

func (a *restAPI) do(ctx context.Context, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.c.url()+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// versions lists every object of the given kinds in ns as
// "plural/name" -> resourceVersion (every page).
func (a *restAPI) versions(t testing.TB, ns string, plurals []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, plural := range plurals {
		q := url.Values{"limit": {"100"}}
		for {
			code, b, err := a.do(t.Context(), http.MethodGet, "/apis/dex.coreos.com/v1/namespaces/"+ns+"/"+plural+"?"+q.Encode(), nil)
			if err != nil || code != http.StatusOK {
				t.Fatalf("list %s: %d %v %s", plural, code, err, b)
			}
			var l struct {
				Metadata struct{ Continue string } `json:"metadata"`
				Items    []struct {
					Metadata struct{ Name, ResourceVersion string } `json:"metadata"`
				} `json:"items"`
			}
			if err := json.Unmarshal(b, &l); err != nil {
				t.Fatal(err)
			}
			for _, it := range l.Items {
				out[plural+"/"+it.Metadata.Name] = it.Metadata.ResourceVersion
			}
			if l.Metadata.Continue == "" {
				break
			}
			q.Set("continue", l.Metadata.Continue)
		}
	}
	return out
}

// count is how many objects of plural are in ns.
func (a *restAPI) count(t testing.TB, ns, plural string) int {
	t.Helper()
	return len(a.versions(t, ns, []string{plural}))
}

// dexBinary builds the real Dex from test/dex's pinned wrapper module
// (tools/dex, exactly as its go.mod says; cgo for Dex's SQLite driver).
// The first build takes minutes; later ones are a link step.
func dexBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "dex")
	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/dexidp/dex/cmd/dex")
	cmd.Dir = filepath.Join(repoRoot(), "test", "dex", "tools", "dex")
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOWORK=off", "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build Dex (in %s): %v\n%s", cmd.Dir, err, out)
	}
	t.Logf("built Dex in %s", time.Since(start).Round(100*time.Millisecond))
	return bin
}

// proc is a program run by a test, its output kept for a failure.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	logs bytes.Buffer
}

func startProc(t *testing.T, name string, env []string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.logs, &p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s log:\n%s", name, tail(p.logs.String(), 40))
		}
	})
	return p
}

// stop ends the program (SIGTERM, then SIGKILL after 30 s).
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// runCmd runs torii to completion and returns its output.
func runCmd(t *testing.T, env []string, bin string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
	t.Logf("%s %s:\n%s", filepath.Base(bin), strings.Join(args, " "), out)
	return string(out)
}

func mustContain(t *testing.T, step, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Fatalf("%s: output lacks %q:\n%s", step, w, out)
		}
	}
}

// diffVersions says what changed between two versions() maps.
func diffVersions(before, after map[string]string) string {
	var d []string
	for k, v := range before {
		if after[k] != v {
			d = append(d, fmt.Sprintf("%s: %s -> %q", k, v, after[k]))
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			d = append(d, k+": new")
		}
	}
	slices.Sort(d)
	return strings.Join(d, "\n")
}
