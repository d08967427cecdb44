// Package dextest runs the real Dex v2.45.1 and the real torii binary:
// people log in through Dex, Dex stops, `torii import-dex` takes over its
// storage, and torii must honour what Dex handed out.
package dextest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

type binaries struct {
	dex, torii string
}

// buildPrograms builds Dex (from the pinned wrapper module tools/dex,
// exactly as its go.mod says) and torii. Dex's first build takes minutes
// (cgo SQLite, its whole dependency tree); later ones are a link step.
func buildPrograms(t *testing.T) binaries {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	var built binaries
	builds := []struct {
		out, dir, pkg string
		dst           *string
	}{
		{"dex", filepath.Join(wd, "tools", "dex"), "github.com/dexidp/dex/cmd/dex", &built.dex},
		{"torii", filepath.Join(wd, "..", ".."), "./cmd/torii", &built.torii},
	}
	for _, b := range builds {
		out := filepath.Join(wd, "bin", b.out)
		start := time.Now()
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Minute)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, b.pkg)
		cmd.Dir = b.dir
		// The tool module is built exactly as its go.mod says, whatever
		// GOFLAGS the caller set; Dex's SQLite driver needs cgo.
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOWORK=off", "CGO_ENABLED=1")
		msg, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("go build %s (in %s): %v\n%s", b.pkg, b.dir, err, msg)
		}
		t.Logf("built %s in %s", b.out, time.Since(start).Round(100*time.Millisecond))
		*b.dst = out
	}
	return built
}
