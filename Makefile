# torii — see README.md.
GO      ?= go
CONFIG  ?= examples/config.dev.yaml
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all build run test unit interop bench fuzz vet clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/torii ./cmd/torii

# torii on the embedded default: SQLite under ./var, users from the config.
run: build
	mkdir -p var
	./bin/torii serve $(CONFIG)

# Every test: the module's tests (slapd, PostgreSQL), then the interop suite
# with the real clients.
test: unit interop

unit:
	$(GO) vet ./...
	$(GO) test -count=1 ./...

# The real clients (kube-apiserver's authenticator, oauth2-proxy, kubelogin,
# openid-client, Chromium) against the real torii binary; one line per
# client and scenario.
interop:
	cd test/interop/node && npm ci --no-audit --no-fund
	cd test/interop && $(GO) test -mod=mod -count=1 -v -timeout 30m .

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./server/ ./storage/... ./connector/...

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzEquivalent -fuzztime 60s ./server/internal/redirecturi

clean:
	rm -rf bin var
