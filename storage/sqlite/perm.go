package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// privateFiles makes the database file and its -wal and -shm readable by
// torii's user only, creating the database file 0600 when it does not
// exist yet: they hold the private signing keys. It warns when the
// directory lets other users in (they could replace the files).
func privateFiles(ctx context.Context, file string, logger *slog.Logger) error {
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: create %s: %w", file, err)
	}
	f.Close()
	for _, name := range []string{file, file + "-wal", file + "-shm"} {
		fi, err := os.Stat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sqlite: %w", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(name, 0o600); err != nil {
				return fmt.Errorf("sqlite: make %s private (it holds the signing keys): %w", name, err)
			}
		}
	}
	dir := filepath.Dir(file)
	if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm()&0o077 != 0 {
		logger.WarnContext(ctx, "sqlite: the database directory is accessible to other users; the database holds the signing keys, give it its own directory with mode 0700",
			"dir", dir, "mode", fmt.Sprintf("%#o", fi.Mode().Perm()))
	}
	return nil
}
