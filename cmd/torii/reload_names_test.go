package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestConfigNames: only the config file, the file it links to in the same
// directory and the kubelet's ..entries count as a change of the config.
func TestConfigNames(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "real.yaml"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real.yaml", filepath.Join(dir, "config.yaml")); err != nil {
		t.Fatal(err)
	}
	concerns := configNames(filepath.Join(dir, "config.yaml"))
	for name, want := range map[string]bool{
		"config.yaml": true, "real.yaml": true, "..data": true, "..data_tmp": true, "..2026_12_01_2": true,
		"torii.db": false, "torii.db-wal": false, "torii.db-shm": false, "other.yaml": false, ".config.yaml.swp": false,
	} {
		if got := concerns(filepath.Join(dir, name)); got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	// A relative path and a plain file.
	if c := configNames("config.yaml"); !c("config.yaml") || c("torii.db-wal") {
		t.Error("relative path: wrong names")
	}
}
