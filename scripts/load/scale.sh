#!/bin/sh
# Scale runs of docs/performance.md. Usage:
#   scripts/load/scale.sh refresh-es256            group commit vs main's torii (BASE_TORII), SQLite, ES256, 8 sessions
#   scripts/load/scale.sh store sqlite|postgres    refresh p50 and RSS: empty store, then FAMILIES families seeded
#   scripts/load/scale.sh gc sqlite|postgres       refresh p99 while GC removes FAMILIES expired rows, and after
# Environment: FAMILIES (default 1000000), DURATION (default 20s), PGURL
# (default postgres://postgres@127.0.0.1:5432), BASE_TORII (a torii binary
# built from the baseline commit, for refresh-es256).
set -eu
cd "$(dirname "$0")/../.."
FAMILIES=${FAMILIES:-1000000}
DURATION=${DURATION:-20s}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
WORK=${WORK:-$(mktemp -d /tmp/torii-scale.XXXXXX)}
mkdir -p "$WORK"
PORT=${PORT:-5600}
go build -o bin/torii ./cmd/torii
go build -o bin/torii-load ./cmd/torii-load

# config BACKEND NAME: a torii config on PORT with ES256 and the dev users.
config() {
	case $1 in
	sqlite) storage="  type: sqlite3
  config:
    file: $WORK/$2.db" ;;
	postgres)
		db="torii_scale_$2"
		psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
		storage="  type: postgres
  config:
    dsn: $PGURL/$db?sslmode=disable
    maxOpenConns: 32" ;;
	esac
	cat >"$WORK/$2.yaml" <<YAML
issuer: http://127.0.0.1:$PORT/dex
storage:
$storage
web:
  http: 127.0.0.1:$PORT
logger:
  level: info
signer:
  type: local
  config:
    algorithm: ES256
oauth2:
  passwordConnector: local
staticClients:
  - id: example-app
    secret: ZXhhbXBsZS1hcHAtc2VjcmV0
    redirectURIs: [http://127.0.0.1:5555/callback]
enablePasswordDB: true
staticPasswords:
  - email: admin@example.com
    hash: "\$2a\$10\$wc6c7WKVQlp2//EoflgSxufCcsFPkSNa3hh7mFfvWT6cGL4HsYChm"
    username: admin
    userID: 08a8684b-db88-4b73-90a9-3cd1661f5466
YAML
	echo "$WORK/$2.yaml"
}

# start BINARY CONFIG: torii in the background; sets PID.
start() {
	"$1" serve "$2" >"$2.log" 2>&1 &
	PID=$!
	for _ in $(seq 100); do
		curl -fs "http://127.0.0.1:$PORT/dex/healthz/ready" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	echo "torii did not start: $(cat "$2.log")" >&2
	exit 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; }

loadrun() { bin/torii-load --issuer "http://127.0.0.1:$PORT/dex" --user admin@example.com:password --server-pid "$PID" "$@"; }

case ${1:-} in
refresh-es256)
	base=${BASE_TORII:?set BASE_TORII to a torii binary built from the baseline commit}
	for bin in "$base" bin/torii; do
		echo "== $bin"
		cfg=$(config sqlite "es256-$(basename "$bin")-$$")
		start "$bin" "$cfg"
		loadrun --modes refresh --concurrency 8 --sessions 8 --duration "$DURATION"
		stop
	done ;;
store)
	cfg=$(config "$2" store)
	echo "== empty store ($2)"
	start bin/torii "$cfg"
	loadrun --modes refresh --concurrency 8 --duration "$DURATION"
	stop
	echo "== seeding $FAMILIES families ($2)"
	bin/torii seed --families "$FAMILIES" --writers 64 "$cfg"
	start bin/torii "$cfg"
	echo "== $FAMILIES families stored ($2)"
	loadrun --modes refresh --concurrency 8 --duration "$DURATION"
	stop ;;
gc)
	cfg=$(config "$2" gc)
	bin/torii seed --families "$FAMILIES" --expired "$cfg"
	start bin/torii "$cfg" # GC runs at start-up
	echo "== during GC of $FAMILIES expired rows ($2)"
	loadrun --modes refresh --concurrency 8 --warmup 0s --duration "$DURATION"
	grep -h "garbage collected" "$cfg.log" || echo "(GC still running at the end of the measurement)"
	while ! grep -q "garbage collected" "$cfg.log"; do sleep 1; done
	echo "== after GC ($2)"
	loadrun --modes refresh --concurrency 8 --duration "$DURATION"
	grep -h "garbage collected" "$cfg.log"
	stop ;;
*)
	sed -n '2,9p' "$0"; exit 2 ;;
esac
