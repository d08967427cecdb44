package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// options of one build.
type options struct {
	Root    string // the repository: Dockerfile and tools/image/rootfs.sh
	Version string // main.version
	Arch    string // GOARCH of the image
	Created time.Time
}

// build lays out the file system with rootfs.sh, as the Dockerfile's build
// stage does, packs it as one layer and sets the config from the
// Dockerfile's final stage.
func build(ctx context.Context, o options) (v1.Image, error) {
	df, err := os.ReadFile(filepath.Join(o.Root, "Dockerfile"))
	if err != nil {
		return nil, err
	}
	st, err := parseFinalStage(df)
	if err != nil {
		return nil, fmt.Errorf("Dockerfile: %w", err)
	}
	if o.Arch == "" {
		o.Arch = runtime.GOARCH
	}
	tmp, err := os.MkdirTemp("", "torii-rootfs-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	rootfs := filepath.Join(tmp, "rootfs")
	cmd := exec.CommandContext(ctx, "sh", filepath.Join(o.Root, "tools", "image", "rootfs.sh"), rootfs)
	cmd.Env = append(os.Environ(), "VERSION="+o.Version, "GOOS=linux", "GOARCH="+o.Arch, "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("rootfs.sh: %v\n%s", err, out)
	}
	layerTar, err := tarDir(rootfs, o.Created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer:     layer,
		History:   v1.History{Created: v1.Time{Time: o.Created}, CreatedBy: "COPY --from=build /rootfs/ / (tools/image/rootfs.sh)"},
		MediaType: types.OCILayer,
	})
	if err != nil {
		return nil, err
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", o.Arch, v1.Time{Time: o.Created}
	cf.Config.Env = st.Env
	cf.Config.User = st.User
	cf.Config.WorkingDir = st.WorkingDir
	cf.Config.Entrypoint = st.Entrypoint
	cf.Config.Cmd = st.Cmd
	if len(st.ExposedPorts) > 0 {
		cf.Config.ExposedPorts = map[string]struct{}{}
		for _, p := range st.ExposedPorts {
			cf.Config.ExposedPorts[p] = struct{}{}
		}
	}
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.title":   "torii",
		"org.opencontainers.image.version": o.Version,
		"org.opencontainers.image.source":  "https://github.com/torii-idp/torii",
	}
	return mutate.ConfigFile(img, cf)
}

// tarDir packs dir as a layer: entries in lexical order, owned by root,
// one fixed time, modes and symlinks as on disk. Nothing is writable by
// UID 1001 except what the mode makes world-writable (/tmp).
func tarDir(dir string, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(path); err != nil {
				return err
			}
		}
		h, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			h.Name += "/"
		}
		h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
		h.ModTime, h.AccessTime, h.ChangeTime = mtime, time.Time{}, time.Time{}
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := io.Copy(tw, f); err != nil {
				return err
			}
		} else if !d.IsDir() && link == "" {
			return fmt.Errorf("%s: unexpected file type %s", path, strings.TrimSpace(info.Mode().Type().String()))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
