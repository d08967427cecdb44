#!/bin/sh
# rootfs.sh DIR: lay out the image's whole file system in DIR. The
# Dockerfile's build stage and `make image` (tools/image, no Docker daemon)
# both run it, so both images hold the same files.
#
#   /usr/local/bin/torii   static binary (CGO_ENABLED=0), root-owned, 0755
#   /usr/local/bin/dex     symlink to torii: Kubeflow's and Dex's chart's
#                          pods run `dex serve ...`
#   /etc/ssl/certs/ca-certificates.crt   CA bundle (LDAPS, PostgreSQL TLS,
#                          the Kubernetes API when not in-cluster)
#   /etc/passwd, /etc/group   user and group torii, 1001
#   /tmp                   1777: the only writable place
#
# Environment: VERSION (main.version), GOOS/GOARCH (default linux/host),
# CA_BUNDLE (default /etc/ssl/certs/ca-certificates.crt).
set -eu
out=${1:?usage: rootfs.sh DIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
ca=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
[ -s "$ca" ] || { echo "rootfs.sh: no CA bundle at $ca (install ca-certificates or set CA_BUNDLE)" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out/usr/local/bin" "$out/etc/ssl/certs" "$out/tmp"
(cd "$root" && CGO_ENABLED=0 GOOS=${GOOS:-linux} GOFLAGS=-mod=readonly \
	go build -trimpath -buildvcs=false -ldflags "-s -w -X main.version=${VERSION:-dev}" \
	-o "$out/usr/local/bin/torii" ./cmd/torii)
chmod 0755 "$out/usr/local/bin/torii"
ln -s torii "$out/usr/local/bin/dex"
cp "$ca" "$out/etc/ssl/certs/ca-certificates.crt"
chmod 0644 "$out/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/:/sbin/nologin\ntorii:x:1001:1001:torii:/tmp:/sbin/nologin\n' >"$out/etc/passwd"
printf 'root:x:0:\ntorii:x:1001:\n' >"$out/etc/group"
chmod 0644 "$out/etc/passwd" "$out/etc/group"
chmod 1777 "$out/tmp"
