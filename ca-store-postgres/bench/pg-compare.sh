#!/usr/bin/env bash
# PostgreSQL store vs directory store under one `scep-load` (issue 16 targets), one run each:
#   dir   scep server on a disk folder (DirStore)
#   pg1   scep server --store postgres://… (one instance)
#   pg2   two scep server instances on one database, the load split across them
# Prints req/s, errors and CPU seconds per request per instance. The PostgreSQL cluster is a
# throwaway one (initdb into the scratch folder, fsync on, a loopback port), removed at exit.
#
#   bash ca-store-postgres/bench/pg-compare.sh
#   BINS=target/release RUN_SECONDS=20 CONCURRENCY=8 SCRATCH_BASE=/var/tmp bash …
# BINS holds `scep` and `scep-load` (cargo build [--release] -p scep-cli -p benches).
set -euo pipefail
# `--store postgres://` needs a key passphrase (the CA keys are stored encrypted); the
# directory store gets the same, so the comparison stays fair.
export SCEP_KEY_PASSPHRASE="bench passphrase"
BINS="${BINS:-${CARGO_TARGET_DIR:-target}/debug}"
RUN_SECONDS="${RUN_SECONDS:-10}"
CONCURRENCY="${CONCURRENCY:-8}"
SCRATCH_BASE="${SCRATCH_BASE:-/var/tmp}"
# Requests pre-built per scep-load run (more than a run can send; building is not timed).
REQUESTS="${REQUESTS:-$((RUN_SECONDS * 150))}"
PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
scratch="$(mktemp -d -p "$SCRATCH_BASE" pg-compare.XXXXXX)"
pids=()
runas=()
if [ "$(id -u)" -eq 0 ]; then runas=(runuser -u postgres --); chown postgres "$scratch"; fi
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null || true; done
    wait 2> /dev/null || true
    "${runas[@]}" "$PGBIN/pg_ctl" -D "$scratch/pg" -m immediate stop > /dev/null 2>&1 || true
    rm -rf "$scratch"
}
trap cleanup EXIT

pgport=$((20000 + RANDOM % 20000))
"${runas[@]}" "$PGBIN/initdb" -D "$scratch/pg" -U postgres --auth=trust -E UTF8 --locale=C > /dev/null
"${runas[@]}" "$PGBIN/pg_ctl" -D "$scratch/pg" -l "$scratch/pg.log" -w \
    -o "-p $pgport -h 127.0.0.1 -k $scratch -c max_connections=100" start > /dev/null
psql=(psql -q -h 127.0.0.1 -p "$pgport" -U postgres)
url() { echo "postgres://postgres@127.0.0.1:$pgport/$1"; }

cpu_secs() { # pid: user+system CPU seconds so far
    awk -v t="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat"
}

start() { # label port [flags...]: starts a server, sets $started_pid
    local label="$1" port="$2"
    shift 2
    mkdir -p "$scratch/$label"
    "$BINS/scep" server --dir "$scratch/$label" --listen "127.0.0.1:$port" --grant auto \
        --threads 2 "$@" > "$scratch/$label.out" 2> "$scratch/$label.log" &
    started_pid=$!
    pids+=("$started_pid")
    for _ in $(seq 300); do
        grep -q "listening on" "$scratch/$label.out" 2> /dev/null && return 0
        sleep 0.1
    done
    echo "$label did not start:" >&2
    tail -n 5 "$scratch/$label.log" >&2
    return 1
}

load() { # port concurrency seed -> "sent=… success=… errors=…" line
    "$BINS/scep-load" --url "http://127.0.0.1:$1/scep" --seconds "$RUN_SECONDS" \
        --concurrency "$2" --seed "$3" --requests "$REQUESTS" 2> /dev/null | grep '^sent='
}

field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p; s/^$1=\([0-9.]*\).*/\1/p" <<< "$2" | head -n 1; }

report() { # label line cpu0 cpu1
    local ok err el
    ok=$(field success "$2")
    err=$(field errors "$2")
    el=$(field elapsed_s "$2")
    awk -v l="$1" -v ok="$ok" -v err="$err" -v el="$el" -v c0="$3" -v c1="$4" 'BEGIN {
        printf "%-8s %8.1f req/s  errors=%d  cpu_s/request=%.4f\n", l, ok / el, err, (ok > 0 ? (c1 - c0) / ok : 0) }'
}

echo "pg-compare: $RUN_SECONDS s, $CONCURRENCY connections, binaries in $BINS, scratch on $SCRATCH_BASE"
start dir 18201
c0=$(cpu_secs "$started_pid"); line=$(load 18201 "$CONCURRENCY" 1); c1=$(cpu_secs "$started_pid")
report dir "$line" "$c0" "$c1"
kill "$started_pid"; wait "$started_pid" || true

"${psql[@]}" -c "CREATE DATABASE pg1"
start pg1 18202 --store "$(url pg1)"
c0=$(cpu_secs "$started_pid"); line=$(load 18202 "$CONCURRENCY" 1); c1=$(cpu_secs "$started_pid")
report pg1 "$line" "$c0" "$c1"
kill "$started_pid"; wait "$started_pid" || true

"${psql[@]}" -c "CREATE DATABASE pg2"
start pg2a 18203 --store "$(url pg2)"; pa=$started_pid
start pg2b 18204 --store "$(url pg2)"; pb=$started_pid
half=$((CONCURRENCY / 2))
a0=$(cpu_secs "$pa"); b0=$(cpu_secs "$pb")
load 18203 "$half" 1 > "$scratch/la" &
lb=$!
load 18204 "$half" 2 > "$scratch/lb"
wait "$lb"
a1=$(cpu_secs "$pa"); b1=$(cpu_secs "$pb")
report pg2a "$(cat "$scratch/la")" "$a0" "$a1"
report pg2b "$(cat "$scratch/lb")" "$b0" "$b1"
total=$(awk -v a="$(field success "$(cat "$scratch/la")")" -v b="$(field success "$(cat "$scratch/lb")")" \
    -v ea="$(field elapsed_s "$(cat "$scratch/la")")" -v eb="$(field elapsed_s "$(cat "$scratch/lb")")" \
    'BEGIN { printf "%.1f", a / ea + b / eb }')
echo "pg2      $total req/s (both instances)"
echo "issued in pg2: $("${psql[@]}" -d pg2 -tAc 'SELECT count(*) FROM scep_issued') rows, distinct serials $("${psql[@]}" -d pg2 -tAc 'SELECT count(DISTINCT serial) FROM scep_issued')"
