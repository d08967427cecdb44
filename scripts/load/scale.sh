#!/bin/sh
# Scale runs of docs/performance.md. Usage:
#   scripts/load/scale.sh refresh-es256            this tree's torii vs BASE_TORII, SQLite, ES256, 8 sessions, ROUNDS rounds each
#   scripts/load/scale.sh store sqlite|postgres    refresh p50 and RSS: an empty store and one with FAMILIES families and
#                                                  SESSIONS sessions, alternated for ROUNDS rounds (and BASE_TORII if set)
#   scripts/load/scale.sh gc sqlite|postgres       refresh p99 while GC removes FAMILIES expired rows, and after
#   scripts/load/scale.sh seed sqlite|postgres     only seed the stores of store and gc (then run them with SEEDED=1)
# Environment: FAMILIES (default 1000000), SESSIONS (default 100000), DURATION
# (default 20s), ROUNDS (default 2), PGURL (default
# postgres://postgres@127.0.0.1:5432), BASE_TORII (a torii binary built from
# the baseline commit, for refresh-es256), BASE_LOAD (the torii-load run
# against BASE_TORII, default this tree's; give the baseline's to compare
# the load generator's CPU too), WORK (the directory of the
# databases and logs), SEEDED=1 to reuse the seeded stores of an earlier
# run with the same WORK, and NOWAIT=1 to end the gc run without waiting for
# the collection to finish (the during-GC rounds are alternated with a torii
# on the store run's full store, which has nothing to collect, on PORT+1).
set -eu
cd "$(dirname "$0")/../.."
FAMILIES=${FAMILIES:-1000000}
SESSIONS=${SESSIONS:-100000}
DURATION=${DURATION:-20s}
ROUNDS=${ROUNDS:-2}
SEEDED=${SEEDED:-}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
WORK=${WORK:-$(mktemp -d /tmp/torii-scale.XXXXXX)}
mkdir -p "$WORK"
PORT=${PORT:-5600}
go build -o bin/torii ./cmd/torii
go build -o bin/torii-load ./cmd/torii-load

# config BACKEND NAME [keep]: a torii config on PORT with ES256 and the dev
# users; a new empty store unless keep is given.
config() {
	case $1 in
	sqlite)
		[ -n "${3:-}" ] || rm -f "$WORK/$2.db" "$WORK/$2.db-wal" "$WORK/$2.db-shm"
		storage="  type: sqlite3
  config:
    file: $WORK/$2.db" ;;
	postgres)
		db="torii_scale_$2"
		[ -n "${3:-}" ] || psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
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

# copystore BACKEND FROM TO: a copy of a seeded store (GC consumes its store).
copystore() {
	case $1 in
	sqlite) cp "$WORK/$2.db" "$WORK/$3.db"; rm -f "$WORK/$3.db-wal" "$WORK/$3.db-shm" ;;
	postgres) psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS torii_scale_$3" \
		-c "CREATE DATABASE torii_scale_$3 TEMPLATE torii_scale_$2" >/dev/null ;;
	esac
}

loadrun() { bin/torii-load --issuer "http://127.0.0.1:$PORT/dex" --user admin@example.com:password --server-pid "$PID" "$@"; }

# seedstores BACKEND: the store run's full store and the gc run's template.
seedstores() {
	echo "== seeding $FAMILIES families and $SESSIONS sessions ($1; $(cut -d' ' -f1-3 /proc/loadavg))"
	bin/torii seed --families "$FAMILIES" --sessions "$SESSIONS" --writers 64 "$(config "$1" full)"
	echo "== seeding $FAMILIES expired families ($1; $(cut -d' ' -f1-3 /proc/loadavg))"
	bin/torii seed --families "$FAMILIES" --expired --writers 64 "$(config "$1" gcseed)"
}

case ${1:-} in
seed)
	seedstores "$2" ;;
refresh-es256)
	base=${BASE_TORII:?set BASE_TORII to a torii binary built from the baseline commit}
	for round in $(seq "$ROUNDS"); do
		for bin in "$base" bin/torii; do
			echo "== round $round: $bin ($(cut -d' ' -f1-3 /proc/loadavg))"
			cfg=$(config sqlite "es256-$(basename "$bin")")
			start "$bin" "$cfg"
			load=bin/torii-load
			[ "$bin" = bin/torii ] || load=${BASE_LOAD:-bin/torii-load}
			"$load" --issuer "http://127.0.0.1:$PORT/dex" --user admin@example.com:password --server-pid "$PID" \
				--modes refresh --concurrency 8 --sessions 8 --duration "$DURATION"
			stop
		done
	done ;;
store)
	[ -n "$SEEDED" ] || seedstores "$2"
	empty=$(config "$2" empty)
	full=$(config "$2" full keep)
	# With BASE_TORII, each round runs it too (with BASE_LOAD), before this tree's.
	for round in $(seq "$ROUNDS"); do
		for bin in ${BASE_TORII:+"$BASE_TORII"} bin/torii; do
			load=bin/torii-load
			[ "$bin" = bin/torii ] || load=${BASE_LOAD:-bin/torii-load}
			for cfg in "$empty" "$full"; do
				[ "$cfg" = "$full" ] || config "$2" empty >/dev/null # a new empty store per run
				echo "== round $round: $bin, $(basename "$cfg" .yaml) store ($2; $(cut -d' ' -f1-3 /proc/loadavg))"
				start "$bin" "$cfg"
				"$load" --issuer "http://127.0.0.1:$PORT/dex" --user admin@example.com:password --server-pid "$PID" \
					--modes refresh --concurrency 8 --duration "$DURATION"
				stop
			done
		done
	done ;;
gc)
	[ -n "$SEEDED" ] || seedstores "$2"
	config "$2" gcseed keep >/dev/null
	copystore "$2" gcseed gc
	cfg=$(config "$2" gc keep)
	start bin/torii "$cfg" # GC runs at start-up
	echo "== during GC of $FAMILIES expired rows ($2; $(cut -d' ' -f1-3 /proc/loadavg))"
	loadrun --modes refresh --concurrency 8 --warmup 0s --duration "$DURATION"
	grep -h "garbage collected" "$cfg.log" || echo "(GC still running at the end of the measurement)"
	# The same-time baseline: a second torii on the store run's full store
	# (same size, nothing to collect), alternated with the collecting one.
	full=$(config "$2" full keep)
	fcfg=${full%.yaml}-gcbase.yaml
	sed "s/:$PORT/:$((PORT + 1))/g" "$full" >"$fcfg"
	"bin/torii" serve "$fcfg" >"$fcfg.log" 2>&1 &
	fpid=$!
	for _ in $(seq 100); do curl -fs "http://127.0.0.1:$((PORT + 1))/dex/healthz/ready" >/dev/null 2>&1 && break; sleep 0.2; done
	for round in $(seq "$ROUNDS"); do
		if grep -q "garbage collected" "$cfg.log"; then break; fi
		echo "== round $round: during GC ($2; $(cut -d' ' -f1-3 /proc/loadavg))"
		loadrun --modes refresh --concurrency 8 --duration "$DURATION"
		echo "== round $round: same-size store without GC ($2; $(cut -d' ' -f1-3 /proc/loadavg))"
		bin/torii-load --issuer "http://127.0.0.1:$((PORT + 1))/dex" --user admin@example.com:password \
			--server-pid "$fpid" --modes refresh --concurrency 8 --duration "$DURATION"
	done
	kill "$fpid"; wait "$fpid" 2>/dev/null || true
	[ -z "${NOWAIT:-}" ] || { stop; exit 0; }
	while ! grep -q "garbage collected" "$cfg.log"; do sleep 1; done
	echo "== after GC ($2; $(cut -d' ' -f1-3 /proc/loadavg))"
	loadrun --modes refresh --concurrency 8 --duration "$DURATION"
	grep -h "garbage collected" "$cfg.log"
	stop ;;
*)
	sed -n '2,17p' "$0"; exit 2 ;;
esac
