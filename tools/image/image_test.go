package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/x509"
	"debug/elf"
	"encoding/pem"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestImage builds the image as `make image` does, reads it back from the
// OCI layout and checks what a cluster relies on: config, files, modes,
// and that the binary in the layer runs.
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds torii")
	}
	dir := t.TempDir()
	ociDir, tarPath := filepath.Join(dir, "oci"), filepath.Join(dir, "torii.tar")
	o := options{Root: "../..", Version: "v9.9.9-image", Created: created()}
	if err := write(context.Background(), o, "ghcr.io/torii-idp/torii:test", ociDir, tarPath); err != nil {
		t.Fatal(err)
	}

	idx, err := layout.ImageIndexFromPath(ociDir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "test" ||
		im.Manifests[0].Platform == nil || im.Manifests[0].Platform.OS != "linux" {
		t.Fatalf("index: %+v", im.Manifests)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	if mt, _ := img.MediaType(); mt != types.OCIManifestSchema1 {
		t.Errorf("manifest media type %s", mt)
	}
	// The docker-load tarball holds the same image.
	tb, err := tarball.ImageFromPath(tarPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	// (docker's manifest format differs; the config and the layers do not)
	c1, _ := img.ConfigName()
	c2, _ := tb.ConfigName()
	l1, _ := img.Layers()
	l2, _ := tb.Layers()
	if c1 != c2 || len(l1) != len(l2) {
		t.Errorf("OCI layout config %s and tarball config %s differ", c1, c2)
	}
	for i := range min(len(l1), len(l2)) {
		d1, _ := l1[i].DiffID()
		d2, _ := l2[i].DiffID()
		if d1 != d2 {
			t.Errorf("layer %d: %s vs %s", i, d1, d2)
		}
	}

	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	checks := []struct {
		what      string
		got, want any
	}{
		{"user", c.User, "1001:1001"},
		{"entrypoint", c.Entrypoint, []string{"/usr/local/bin/torii"}},
		{"cmd", c.Cmd, []string{"serve", "/etc/torii/config.yaml"}},
		{"env", c.Env, []string{"PATH=/usr/local/bin"}},
		{"workdir", c.WorkingDir, "/"},
		{"ports", c.ExposedPorts, map[string]struct{}{"5556/tcp": {}, "5558/tcp": {}}},
		{"os/arch", cf.OS + "/" + cf.Architecture, "linux/" + runtime.GOARCH},
		{"version label", c.Labels["org.opencontainers.image.version"], "v9.9.9-image"},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %#v, want %#v", ck.what, ck.got, ck.want)
		}
	}

	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := map[string]*tar.Header{}
	contents := map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := "/" + strings.TrimSuffix(h.Name, "/")
		files[name] = h
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			contents[name] = b
		}
	}
	want := map[string]struct {
		typ  byte
		mode int64
	}{
		"/usr":                               {tar.TypeDir, 0o755},
		"/usr/local":                         {tar.TypeDir, 0o755},
		"/usr/local/bin":                     {tar.TypeDir, 0o755},
		"/usr/local/bin/torii":               {tar.TypeReg, 0o755},
		"/usr/local/bin/dex":                 {tar.TypeSymlink, 0o777},
		"/etc":                               {tar.TypeDir, 0o755},
		"/etc/passwd":                        {tar.TypeReg, 0o644},
		"/etc/group":                         {tar.TypeReg, 0o644},
		"/etc/ssl":                           {tar.TypeDir, 0o755},
		"/etc/ssl/certs":                     {tar.TypeDir, 0o755},
		"/etc/ssl/certs/ca-certificates.crt": {tar.TypeReg, 0o644},
		"/tmp":                               {tar.TypeDir, 0o1777},
	}
	for name, w := range want {
		h := files[name]
		if h == nil {
			t.Errorf("%s missing", name)
			continue
		}
		if h.Typeflag != w.typ || h.Mode&0o7777 != w.mode {
			t.Errorf("%s: type %c mode %o, want %c %o", name, h.Typeflag, h.Mode&0o7777, w.typ, w.mode)
		}
	}
	for name, h := range files {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected file %s in the image", name)
		}
		if h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s owned by %d:%d, want root", name, h.Uid, h.Gid)
		}
		// Only /tmp is writable by UID 1001: nothing else is writable
		// by group or others, and nothing belongs to 1001.
		if name != "/tmp" && h.Typeflag != tar.TypeSymlink && h.Mode&0o022 != 0 {
			t.Errorf("%s is writable by group or others (mode %o)", name, h.Mode)
		}
	}
	if l := files["/usr/local/bin/dex"]; l != nil && l.Linkname != "torii" {
		t.Errorf("dex links to %q, want torii", l.Linkname)
	}
	if !strings.Contains(string(contents["/etc/passwd"]), "torii:x:1001:1001:") || !strings.Contains(string(contents["/etc/group"]), "torii:x:1001:") {
		t.Errorf("passwd/group:\n%s%s", contents["/etc/passwd"], contents["/etc/group"])
	}
	pool, n := x509.NewCertPool(), 0
	for rest := contents["/etc/ssl/certs/ca-certificates.crt"]; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if c, err := x509.ParseCertificate(b.Bytes); err == nil {
			pool.AddCert(c)
			n++
		}
	}
	if n < 10 {
		t.Errorf("CA bundle holds %d certificates", n)
	}

	// The binary: static (no ELF interpreter: runs on an empty base), and
	// it runs, as torii and through the dex name.
	bin := contents["/usr/local/bin/torii"]
	ef, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("torii is dynamically linked (PT_INTERP); the image has no libc")
		}
	}
	if runtime.GOOS != "linux" {
		return
	}
	binDir := filepath.Join(dir, "bin")
	os.MkdirAll(binDir, 0o755)
	exe := filepath.Join(binDir, "torii")
	if err := os.WriteFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Symlink("torii", filepath.Join(binDir, "dex"))
	runs := []struct {
		argv []string
		out  string
	}{
		{[]string{exe, "version"}, "torii v9.9.9-image go"},
		{[]string{filepath.Join(binDir, "dex"), "version"}, "dex Version: torii v9.9.9-image\n"},
		{[]string{exe, "check-config", "../../examples/config.dev.yaml"}, "config.dev.yaml: OK"},
		{[]string{filepath.Join(binDir, "dex"), "check-config", "--web-http-addr", "0.0.0.0:5557", "../../examples/config.dev.yaml"}, "http 0.0.0.0:5557"},
	}
	for _, r := range runs {
		out, err := exec.Command(r.argv[0], r.argv[1:]...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), r.out) {
			t.Errorf("%q: %v\n%s\nwant %q", r.argv, err, out, r.out)
		}
	}
}

func TestParseFinalStage(t *testing.T) {
	df, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseFinalStage(df); err != nil {
		t.Fatalf("the repository's Dockerfile: %v", err)
	}
	bad := []struct{ name, df, err string }{
		{"no FROM", "RUN true\n", "no FROM"},
		{"not scratch", "FROM alpine\nCOPY --from=build /rootfs/ /\n", "FROM scratch"},
		{"RUN in the final stage", "FROM x AS build\nFROM scratch\nCOPY --from=build /rootfs/ /\nRUN ls\n", "cannot reproduce"},
		{"shell-form CMD", "FROM scratch\nCOPY --from=build /rootfs/ /\nCMD torii serve\n", "exec form"},
		{"other COPY", "FROM scratch\nCOPY --from=build /x /\n", "may only COPY"},
		{"no COPY", "FROM scratch\nUSER 1001\n", "does not COPY"},
		{"quoted ENV", "FROM scratch\nCOPY --from=build /rootfs/ /\nENV A=\"b c\"\n", "ENV must be"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			if _, err := parseFinalStage([]byte(b.df)); err == nil || !strings.Contains(err.Error(), b.err) {
				t.Fatalf("err = %v, want %q", err, b.err)
			}
		})
	}
	st, err := parseFinalStage([]byte("# c\nFROM golang AS build\nRUN x \\\n  y\nFROM scratch\nCOPY --from=build /rootfs/ /\nENV PATH=/bin\nUSER 1:1\nEXPOSE 80 53/udp\nENTRYPOINT [\"/t\"]\nCMD [\"a\", \"b\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := &finalStage{Env: []string{"PATH=/bin"}, User: "1:1", ExposedPorts: []string{"80/tcp", "53/udp"}, Entrypoint: []string{"/t"}, Cmd: []string{"a", "b"}}
	if !reflect.DeepEqual(st, want) {
		t.Fatalf("got %+v, want %+v", st, want)
	}
}
