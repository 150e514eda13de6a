#!/usr/bin/env bash
# A/B of two (or more) nimbus builds on the API Gateway → warm Node function path, alternating
# in each round so both see the same machine: per build and round, a fresh `serve --ephemeral`,
# `nimbus deploy` of bench/apigw/template.yaml, 2 s warm-up and 8 s of nimbus-loadgen at 8
# clients, then req/s, the server's CPU per request (utime+stime from /proc/PID/stat) and the
# `logs-writer` thread's CPU and voluntary context switches per request.
#
#   bench/apigw_ab.sh ROUNDS OLD_NIMBUS NEW_NIMBUS [MORE...]     # NIMBUS_LOADGEN=path overrides
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rounds=$1
shift
loadgen=${NIMBUS_LOADGEN:-$(dirname "$1")/nimbus-loadgen}
port=${PORT:-4610}
ticks=$(getconf CLK_TCK)
for _ in $(seq "$rounds"); do
  for bin in "$@"; do
    work=$(mktemp -d)
    cp -r "$here/apigw/node" "$here/apigw/template.yaml" "$work/"
    mkdir -p "$work/rust" && touch "$work/rust/bootstrap"   # the template's optional Rust route
    "$bin" serve --ephemeral --port "$port" >"$work/out" 2>"$work/err" &
    pid=$!
    for _ in $(seq 100); do grep -q Ready "$work/out" 2>/dev/null && break; sleep 0.1; done
    (cd "$work" && AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test "$bin" deploy --stack-name ab \
      --endpoint "http://127.0.0.1:$port" >"$work/deploy" 2>&1)
    api=$(sed -n 's/.*ApiId = //p' "$work/deploy")
    writer=$(dirname "$(grep -l '^logs-writer$' /proc/$pid/task/*/comm | head -1)")
    cpu() { awk '{print $14 + $15}' "$1"; }
    switches() { awk '/^voluntary_ctxt_switches/ {print $2}' "$1/status"; }
    s0=$(cpu /proc/$pid/stat); w0=$(cpu "$writer/stat"); c0=$(switches "$writer")
    out=$("$loadgen" --endpoint "http://127.0.0.1:$port" --json --threads 1 --concurrency 8 --warmup 2s \
      --duration 8s --scenario health --health-path "/_aws/execute-api/$api/items" | tail -1)
    s1=$(cpu /proc/$pid/stat); w1=$(cpu "$writer/stat"); c1=$(switches "$writer")
    python3 - "$bin" "$out" "$s0" "$s1" "$w0" "$w1" "$c0" "$c1" "$ticks" <<'PY'
import json, os, sys
name, out, s0, s1, w0, w1, c0, c1, ticks = sys.argv[1:]
d = json.loads(out)
n, us = d["ok"], 1e6 / int(ticks)
print(f"{os.path.basename(name)}: {d['ops_per_sec']:,.0f} req/s, p50 {d['p50_ms']} ms, server "
      f"{(float(s1) - float(s0)) * us / n:.0f} µs/req, logs writer {(float(w1) - float(w0)) * us / n:.1f} µs/req "
      f"and {(int(c1) - int(c0)) / n:.2f} wake-ups/req, load {os.getloadavg()[0]:.1f}")
PY
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    rm -rf "$work"
  done
done
