#!/usr/bin/env bash
# Runs every cargo-fuzz target for a given time and reports executions and crashes.
#
# Usage: fuzz/run-all.sh <seconds-per-target> [target ...]
#   Targets default to every [[bin]] of fuzz/Cargo.toml (`cargo fuzz list`). Each starts from
#   the committed seeds (seeds/<target>/, copied into the working corpus/<target>/) and keeps
#   what it finds in corpus/<target>/ (git-ignored). Crash inputs land in artifacts/<target>/.
#   Logs go to logs/<target>.log. Exits non-zero if any target crashed or failed to build.
set -euo pipefail

secs=${1:?usage: run-all.sh <seconds-per-target> [target ...]}
shift
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
toolchain=${FUZZ_TOOLCHAIN:-nightly}
if ! rustup run "$toolchain" rustc --version >/dev/null 2>&1; then
    rustup toolchain install "$toolchain" --profile minimal
fi

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo "+$toolchain" fuzz list)
fi
[ ${#targets[@]} -gt 0 ] || { echo "no fuzz targets found" >&2; exit 1; }

# Build every target first: a target that does not compile fails the run.
cargo "+$toolchain" fuzz build

mkdir -p logs
failed=0
summary=()
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    if [ -d "seeds/$t" ]; then
        cp -n "seeds/$t"/* "corpus/$t"/ 2>/dev/null || true
    fi
    before=$(find "artifacts/$t" -type f | wc -l)
    set +e
    cargo "+$toolchain" fuzz run "$t" "corpus/$t" -- \
        -max_total_time="$secs" -print_final_stats=1 >"logs/$t.log" 2>&1
    rc=$?
    set -e
    after=$(find "artifacts/$t" -type f | wc -l)
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$t.log" | grep -o '[0-9]*$' | tail -n 1)
    execs=${execs:-unknown}
    if [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ]; then
        result="CRASH (exit $rc, see logs/$t.log and artifacts/$t/)"
        failed=1
    else
        result="ok, no crash"
    fi
    corpus=$(find "corpus/$t" -type f | wc -l)
    line=$(printf '%-16s %6ss  execs %-12s corpus %-6s %s' "$t" "$secs" "$execs" "$corpus" "$result")
    echo "$line"
    summary+=("$line")
done

echo
echo "== fuzz summary"
printf '%s\n' "${summary[@]}"
exit "$failed"
