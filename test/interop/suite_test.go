package interop

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// suite is what every scenario shares: the built programs, the test CA and
// the result lines printed at the end.
type suite struct {
	dir       string // scratch directory of this run
	artifacts string // test/interop/artifacts: logs and screenshots kept after the run
	bin       binaries
	ca        *testCA

	mu      sync.Mutex
	results []result
	reasons map[string]string // scenario -> why it was skipped
}

type binaries struct {
	torii, oauth2Proxy, kubelogin string
}

type result struct {
	name   string
	status string // PASS, FAIL, SKIP
}

// scenario runs one client/source/case as a subtest and records its result
// line. The name is the subtest path below TestInterop.
func (s *suite) scenario(t *testing.T, name string, f func(t *testing.T)) bool {
	return t.Run(name, func(t *testing.T) {
		t.Cleanup(func() {
			full := strings.TrimPrefix(t.Name(), "TestInterop/")
			status := "PASS"
			switch {
			case t.Failed():
				status = "FAIL"
			case t.Skipped():
				status = "SKIP"
			}
			s.mu.Lock()
			s.results = append(s.results, result{full, status})
			s.mu.Unlock()
		})
		f(t)
	})
}

// skip skips t and keeps the reason for the summary line.
func (s *suite) skip(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	s.mu.Lock()
	s.reasons[strings.TrimPrefix(t.Name(), "TestInterop/")] = msg
	s.mu.Unlock()
	t.Skip(msg)
}

// summary prints one line per scenario, in the order they ran.
func (s *suite) summary() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	counts := map[string]int{}
	for _, r := range s.results {
		counts[r.status]++
		b.WriteString(r.status + " " + r.name)
		if why := s.reasons[r.name]; why != "" && r.status == "SKIP" {
			b.WriteString(" (" + why + ")")
		}
		b.WriteString("\n")
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
	}
	fmt.Fprintf(&b, "interop: %s\n", strings.Join(parts, ", "))
	return b.String()
}

// newSuite builds the programs (only those named, if any) and the CA. Building oauth2-proxy and
// kubelogin the first time takes minutes; afterwards Go's build cache makes
// it a link step.
func newSuite(t *testing.T, only ...string) *suite {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	s := &suite{
		dir:       t.TempDir(),
		artifacts: filepath.Join(wd, "artifacts"),
		reasons:   map[string]string{},
	}
	if err := os.MkdirAll(s.artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	binDir := filepath.Join(wd, "bin")
	root := filepath.Join(wd, "..", "..")
	builds := []struct {
		out, dir, pkg string
		dst           *string
	}{
		{"torii", root, "./cmd/torii", &s.bin.torii},
		{"oauth2-proxy", filepath.Join(wd, "tools", "oauth2-proxy"), "github.com/oauth2-proxy/oauth2-proxy/v7", &s.bin.oauth2Proxy},
		{"kubelogin", filepath.Join(wd, "tools", "kubelogin"), "github.com/int128/kubelogin", &s.bin.kubelogin},
	}
	for _, b := range builds {
		if len(only) > 0 && !slices.Contains(only, b.out) {
			continue
		}
		out := filepath.Join(binDir, b.out)
		start := time.Now()
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Minute)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, b.pkg)
		cmd.Dir = b.dir
		// The tool modules are built exactly as their go.mod says,
		// whatever GOFLAGS the caller set for this module.
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOWORK=off")
		msg, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("go build %s (in %s): %v\n%s", b.pkg, b.dir, err, msg)
		}
		t.Logf("built %s in %s", b.out, time.Since(start).Round(100*time.Millisecond))
		*b.dst = out
	}
	s.ca = newTestCA(t, s.dir)
	return s
}
