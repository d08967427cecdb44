package sqlite

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The database and its -wal and -shm hold the private signing keys: 0600
// always, whatever the umask or an existing file's mode (issue 12, item 5).
func TestFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	ctx := context.Background()
	check := func(t *testing.T, file string) {
		t.Helper()
		for _, name := range []string{file, file + "-wal", file + "-shm"} {
			fi, err := os.Stat(name)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %#o, want 0600", filepath.Base(name), fi.Mode().Perm())
			}
		}
	}
	t.Run("new file in a shared directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		file := filepath.Join(dir, "torii.db")
		s, err := Open(ctx, file, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		check(t, file)
		if !strings.Contains(logs.String(), "accessible to other users") {
			t.Errorf("no warning about the 0755 directory: %s", logs.String())
		}
	})
	t.Run("existing world-readable files", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, "torii.db")
		s, err := Open(ctx, file, nil)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		os.Chmod(file, 0o644)
		var logs bytes.Buffer
		s, err = Open(ctx, file, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		check(t, file)
		if strings.Contains(logs.String(), "accessible to other users") {
			t.Errorf("warning for a 0700 directory: %s", logs.String())
		}
	})
}
