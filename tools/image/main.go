// Command image builds torii's container image without a Docker daemon: the
// file system from rootfs.sh (as the Dockerfile's build stage) and the
// config from the Dockerfile's final stage. It writes an OCI image layout
// (for skopeo, crane, containerd, podman) and a tarball for `docker load`.
//
//	go run . -root ../.. -oci ../../bin/image/oci -tar ../../bin/image/torii.tar -tag torii:dev
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() {
	root := flag.String("root", "../..", "the repository (Dockerfile, cmd/torii)")
	ociDir := flag.String("oci", "", "write an OCI image layout to this directory")
	tarPath := flag.String("tar", "", "write a docker-load tarball to this file")
	tag := flag.String("tag", "ghcr.io/torii-idp/torii:dev", "the image reference recorded in the outputs")
	version := flag.String("version", "dev", "torii's version (main.version)")
	arch := flag.String("arch", "", "GOARCH of the image (default: this machine's)")
	flag.Parse()
	if *ociDir == "" && *tarPath == "" {
		fmt.Fprintln(os.Stderr, "image: give -oci DIR and/or -tar FILE")
		os.Exit(2)
	}
	if err := write(context.Background(), options{Root: *root, Version: *version, Arch: *arch, Created: created()}, *tag, *ociDir, *tarPath); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

// created is SOURCE_DATE_EPOCH when set (reproducible builds), else the
// Unix epoch, so that two builds of one commit have one digest.
func created() time.Time {
	var sec int64
	if v := os.Getenv("SOURCE_DATE_EPOCH"); v != "" {
		fmt.Sscan(v, &sec)
	}
	return time.Unix(sec, 0).UTC()
}

func write(ctx context.Context, o options, tag, ociDir, tarPath string) error {
	ref, err := name.NewTag(tag)
	if err != nil {
		return fmt.Errorf("-tag: %w", err)
	}
	img, err := build(ctx, o)
	if err != nil {
		return err
	}
	if ociDir != "" {
		if err := os.RemoveAll(ociDir); err != nil {
			return err
		}
		p, err := layout.Write(ociDir, empty.Index)
		if err != nil {
			return err
		}
		if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
			"org.opencontainers.image.ref.name": ref.TagStr(),
		}), layout.WithPlatform(v1.Platform{OS: "linux", Architecture: archOf(img)})); err != nil {
			return err
		}
	}
	if tarPath != "" {
		if err := tarball.WriteToFile(tarPath, ref, img); err != nil {
			return err
		}
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%s %s\n", ref, d)
	return nil
}

func archOf(img v1.Image) string {
	cf, err := img.ConfigFile()
	if err != nil {
		return ""
	}
	return cf.Architecture
}
