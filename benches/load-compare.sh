#!/usr/bin/env bash
# Side-by-side SCEP enrolment load (issue 7, part 5): scep-load with one and the same load
# against
#   default   `scep server` (scep-cli), default (RustCrypto) RSA backend
#   fast      the same binary built with `--features aws-lc`
#   w1, w2    the fast server (or the default one without it) with --threads 1 and 2
#   micromdm  micromdm's scepserver (Debian package `scep`)
# then prints each run's result line and the throughput ratios.
#
# Everything listens on 127.0.0.1 inside a private network namespace with only loopback up
# (`unshare -n`; needs root), because scepserver listens on all interfaces.
#
# Environment (defaults): SECONDS=10 (per run), CONCURRENCY=8, CIPHER=3des, DIGEST=sha256,
# REQUESTS (pre-built per run; default scep-load's: 1000 per second, at most 20000),
# KEY_BITS=1024, SCRATCH_BASE=/dev/shm (where the servers keep their state; tmpfs, so the
# fsyncs of our crash-safe store do not dominate and micromdm, which does not fsync, is not
# favoured; set it to a disk folder to include storage). Re-running is safe: builds are
# incremental and every run gets a fresh scratch directory.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

if [[ "${1:-}" != "--inner" ]]; then
    # Outer part: build, then re-run this script inside the namespace.
    # bash's own $SECONDS counts up from the value it was given, so read what the caller set
    # from the process environment as it was at exec time.
    given="$(tr '\0' '\n' < "/proc/$$/environ" | sed -n 's/^SECONDS=//p')"
    export RUN_SECONDS="${given:-10}"
    export CONCURRENCY="${CONCURRENCY:-8}"
    export CIPHER="${CIPHER:-3des}"
    export DIGEST="${DIGEST:-sha256}"
    export REQUESTS="${REQUESTS:-}"
    export KEY_BITS="${KEY_BITS:-1024}"
    export SCRATCH_BASE="${SCRATCH_BASE:-/dev/shm}"
    [[ -d "$SCRATCH_BASE" && -w "$SCRATCH_BASE" ]] || SCRATCH_BASE="${TMPDIR:-/tmp}"
    for tool in unshare ip openssl scepserver python3; do
        command -v "$tool" > /dev/null || {
            echo "load-compare: $tool not found (scepserver: Debian package scep)" >&2
            exit 1
        }
    done
    cd "$root"
    target="${CARGO_TARGET_DIR:-$root/target}"
    bins="$target/load-compare"
    mkdir -p "$bins"
    echo "load-compare: building (release) ..." >&2
    cargo build --release --locked -p benches --bin scep-load
    cp -f "$target/release/scep-load" "$bins/scep-load"
    cargo build --release --locked -p scep-cli --bin scep
    cp -f "$target/release/scep" "$bins/scep-default"
    cargo build --release --locked -p scep-cli --bin scep --features aws-lc
    cp -f "$target/release/scep" "$bins/scep-fast"
    # Leave the default build in place for `cargo run --release` users.
    cargo build --release --locked -p scep-cli --bin scep
    export BINS="$bins"
    exec unshare -n bash "$here/load-compare.sh" --inner
fi

# Inner part: inside the private network namespace.
ip link set lo up
scratch="$(mktemp -d -p "$SCRATCH_BASE" load-compare.XXXXXX)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null || true; done
    wait 2> /dev/null || true
    rm -rf "$scratch"
}
trap cleanup EXIT

declare -A result
load_flags=(--seconds "$RUN_SECONDS" --concurrency "$CONCURRENCY" --cipher "$CIPHER"
    --digest "$DIGEST" --key-bits "$KEY_BITS")
[[ -n "$REQUESTS" ]] && load_flags+=(--requests "$REQUESTS")
server_flags=(--grant auto)
# Our server refuses DES and MD5 unless told otherwise (S-38).
[[ "$CIPHER" == "des" ]] && server_flags+=(--legacy-algorithms)

wait_port() { # port
    for _ in $(seq 600); do
        (echo > "/dev/tcp/127.0.0.1/$1") 2> /dev/null && return 0
        sleep 0.1
    done
    return 1
}

stop() { # pid
    kill "$1" 2> /dev/null || true
    wait "$1" 2> /dev/null || true
}

load() { # label url
    local out
    echo "load-compare: [$1] scep-load ${load_flags[*]}" >&2
    if out="$("$BINS/scep-load" --url "$2" "${load_flags[@]}" 2> "$scratch/$1.load.log")"; then
        result[$1]="$(tail -n 1 <<< "$out")"
        grep -v '^throughput=' <<< "$out" | sed "s/^/load-compare: [$1] /" >&2 || true
        grep -E 'ran out|were sent after' "$scratch/$1.load.log" | sed "s/^/load-compare: [$1] /" >&2 || true
    else
        echo "load-compare: [$1] scep-load failed:" >&2
        sed "s/^/    /" "$scratch/$1.load.log" >&2
    fi
}

ours() { # label binary port [extra server flags...]
    local label="$1" bin="$2" port="$3"
    shift 3
    mkdir -p "$scratch/$label"
    "$bin" server --dir "$scratch/$label" --listen "127.0.0.1:$port" "${server_flags[@]}" "$@" \
        > "$scratch/$label.out" 2> "$scratch/$label.log" &
    local pid=$!
    pids+=("$pid")
    if wait_port "$port"; then
        load "$label" "http://127.0.0.1:$port/scep"
    else
        echo "load-compare: [$label] server did not start:" >&2
        tail -n 5 "$scratch/$label.log" >&2
    fi
    stop "$pid"
}

ours default "$BINS/scep-default" 18101
ours fast "$BINS/scep-fast" 18102
ours w1 "$BINS/scep-fast" 18103 --threads 1
ours w2 "$BINS/scep-fast" 18104 --threads 2

# micromdm's scepserver: a CA certificate with digitalSignature (its own `ca -init` lacks it),
# the key as traditional DES3-encrypted PKCS#1 read with -capass, serial and index.txt.
depot="$scratch/depot"
mkdir -p "$depot"
(
    cd "$scratch"
    openssl genrsa -out ca.plain.key 2048 2> /dev/null
    openssl req -x509 -new -key ca.plain.key -subj '/CN=micromdm load CA/O=scep-rs' -days 30 \
        -sha256 -addext 'basicConstraints=critical,CA:TRUE' \
        -addext 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature,keyEncipherment' \
        -out depot/ca.pem
    openssl rsa -in ca.plain.key -traditional -des3 -passout pass:capw -out depot/ca.key 2> /dev/null
    echo 1 > depot/serial
    touch depot/index.txt
)
scepserver -depot "$depot" -capass capw -port 18105 -allowrenew 0 > "$scratch/micromdm.log" 2>&1 &
mdm=$!
pids+=("$mdm")
if wait_port 18105; then
    load micromdm "http://127.0.0.1:18105/scep"
    failed="$(grep -c 'failed to sign CSR' "$scratch/micromdm.log" || true)"
    if [[ "$failed" != "0" ]]; then
        echo "load-compare: [micromdm] scepserver logged $failed 'failed to sign CSR':" >&2
        grep 'failed to sign CSR' "$scratch/micromdm.log" | sed 's/.*err=/    /' | sort | uniq -c >&2
    fi
else
    echo "load-compare: [micromdm] scepserver did not start" >&2
fi
stop "$mdm"

echo "load: seconds=$RUN_SECONDS concurrency=$CONCURRENCY cipher=$CIPHER digest=$DIGEST requests=${REQUESTS:-default} key_bits=$KEY_BITS state=$SCRATCH_BASE"
for label in default fast w1 w2 micromdm; do
    if [[ -n "${result[$label]:-}" ]]; then
        echo "$label: ${result[$label]}"
    else
        echo "$label: (no result)"
    fi
done

throughput() { sed -n 's/^throughput=\([0-9.]*\) .*/\1/p' <<< "${result[$1]:-}"; }
ratio() { # name numerator denominator
    local a b
    a="$(throughput "$2")"
    b="$(throughput "$3")"
    if [[ -n "$a" && -n "$b" ]]; then
        awk -v n="$1" -v a="$a" -v b="$b" \
            'BEGIN { if (b > 0) printf "ratio %s=%.2f\n", n, a / b; else printf "ratio %s=n/a\n", n }'
    else
        echo "ratio $1=n/a"
    fi
}
ratio fast/default fast default
ratio fast/micromdm fast micromdm
ratio default/micromdm default micromdm
ratio 2workers/1worker w2 w1
