#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 30) on its seed corpus, then prints the
# executions per second of each. `fuzz/run.sh 0` only replays the corpora (a regression run).
# New inputs go to a scratch corpus outside the tree; crashes land in fuzz/artifacts/<target>/.
#
# cargo-fuzz builds with `-Zsanitizer=address`, a nightly-only flag: on the stable toolchain it
# needs RUSTC_BOOTSTRAP=1, which is set here and nowhere else.
set -euo pipefail

cd "$(dirname "$0")"
SECS="${1:-30}"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${NIMBUS_FUZZ_TARGET_DIR:-/var/tmp/nimbus-fuzz-target}"
SCRATCH="${NIMBUS_FUZZ_SCRATCH:-/var/tmp/nimbus-fuzz-corpus}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --version 0.13.2
fi

cargo fuzz build -O
summary=()
for target in $(cargo fuzz list); do
  printf '\n==> %s (%ss)\n' "$target" "$SECS"
  log="$(mktemp)"
  if [ "$SECS" = 0 ]; then
    args=(-runs=0)
    corpora=("corpus/$target")
  else
    mkdir -p "$SCRATCH/$target"
    args=(-max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=65536)
    corpora=("$SCRATCH/$target" "corpus/$target")
  fi
  if ! cargo fuzz run -O "$target" "${corpora[@]}" -- "${args[@]}" -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz target $target failed; the input is in fuzz/artifacts/$target/" >&2
    exit 1
  fi
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
  summary+=("$(printf '%-20s %12s runs %8s exec/s' "$target" "${runs:-?}" "${rate:-?}")")
  rm -f "$log"
done
echo; printf '%s\n' "${summary[@]}"
