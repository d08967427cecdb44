# torii — see README.md.
GO      ?= go
CONFIG  ?= examples/config.dev.yaml
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all build run test unit fuzz-short interop dex-test bench fuzz fuzz-long vet clean load-smoke scale-refresh scale-store-sqlite scale-store-postgres scale-gc-sqlite scale-gc-postgres scale-seed-sqlite scale-seed-postgres image image-test deploy-test kubernetes

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/torii ./cmd/torii
	$(GO) build -o bin/torii-load ./cmd/torii-load

# torii on the embedded default: SQLite under ./var, users from the config.
run: build
	mkdir -p var
	@echo "torii's home page: $$(sed -n 's/^issuer: *//p' $(CONFIG) | head -1)/"
	./bin/torii serve $(CONFIG)

# Every test: the module's tests (slapd, PostgreSQL), a short run of every
# fuzz target, the container image, the manifests, the kubernetes storage
# on a real API server, the interop suite with the real clients, then the
# switch from the real Dex.
test: unit fuzz-short image-test deploy-test kubernetes interop dex-test

unit:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m ./...

# Every fuzz target for FUZZTIME each (seconds in make test; fuzz-long for
# minutes). go test -fuzz takes one target and one package at a time.
FUZZ_TARGETS := \
	FuzzEndpoints:./server/fuzz \
	FuzzEquivalent:./server/internal/redirecturi \
	FuzzMatchNoConfusion:./server/internal/redirecturi \
	FuzzVerify:./server/internal/pkce \
	FuzzRoundTrip:./server/internal/subject
FUZZTIME ?= 5s

fuzz-short:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t%%:*} ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$${t%%:*}$$" -fuzztime $(FUZZTIME) $${t#*:}; \
	done

fuzz-long:
	$(MAKE) fuzz-short FUZZTIME=5m

# A few seconds of torii-load against an in-process torii (its own tests).
load-smoke:
	$(GO) test -count=1 ./cmd/torii-load/

# The scale runs of docs/performance.md; heavy, never part of make test.
# scale-refresh compares this tree's torii with BASE_TORII (a torii built
# from the baseline commit). FAMILIES and DURATION tune the other runs.
scale-refresh:
	scripts/load/scale.sh refresh-es256
scale-store-sqlite:
	scripts/load/scale.sh store sqlite
scale-store-postgres:
	scripts/load/scale.sh store postgres
scale-gc-sqlite:
	scripts/load/scale.sh gc sqlite
scale-gc-postgres:
	scripts/load/scale.sh gc postgres
# Only the seeding of the store and gc runs (reuse with WORK=dir SEEDED=1).
scale-seed-sqlite:
	scripts/load/scale.sh seed sqlite
scale-seed-postgres:
	scripts/load/scale.sh seed postgres

# The kubernetes storage against a real API server (etcd and
# apiextensions-apiserver in process, test/kubernetes): the conformance
# suite, two replicas, GC, inCluster, CRD bootstrap, Kubeflow's config, and
# the switch from the real Dex v2.45.1 on kubernetes storage (import-dex;
# Dex is built from test/dex/tools/dex, with cgo).
# Its first build is slow (the API server's and Dex's code); later ones are cached.
kubernetes:
	cd test/kubernetes && $(GO) vet . && $(GO) test -mod=mod -count=1 -timeout 45m .

# The real clients (kube-apiserver's authenticator, oauth2-proxy, kubelogin,
# openid-client, Chromium) against the real torii binary, and oidc-provider
# as an upstream of the oidc connector (TestUpstreamOIDC); one line per
# client and scenario.
interop:
	cd test/interop/node && npm ci --no-audit --no-fund
	cd test/interop && $(GO) test -mod=mod -count=1 -v -timeout 30m .

# The real Dex v2.45.1 (built with cgo from test/dex/tools/dex) on SQLite
# and PostgreSQL, then `torii import-dex` and the real torii on the same
# config: Dex's ID and refresh tokens keep working.
dex-test:
	cd test/dex && $(GO) vet . && $(GO) test -mod=mod -count=1 -v -timeout 45m .
# The container image without a Docker daemon (tools/image: the Dockerfile's
# final stage and the same rootfs.sh): an OCI layout and a docker-load
# tarball under bin/image.
image:
	cd tools/image && $(GO) run . -root ../.. -version $(VERSION) \
		-oci ../../bin/image/oci -tar ../../bin/image/torii.tar -tag ghcr.io/torii-idp/torii:$(VERSION)

# Builds the image and inspects it: config, files, modes, the binary runs.
image-test:
	cd tools/image && $(GO) vet . && $(GO) test -count=1 -timeout 30m .

# deploy/: kustomize builds, helm lint and render, strict decoding into the
# Kubernetes types, restricted pod security, torii check-config on every
# config the manifests carry (its own module: kustomize, helm, k8s.io/api).
deploy-test:
	cd test/deploy && $(GO) vet . && $(GO) test -count=1 -timeout 30m .

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./server/ ./storage/... ./connector/...

fuzz: fuzz-long

clean:
	rm -rf bin var
