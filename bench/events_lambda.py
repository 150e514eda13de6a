#!/usr/bin/env python3
"""EventBridge PutEvents → a Lambda target, end to end: events put per second, and invocations
delivered per second.

    bench/events_lambda.py [--events 50000] [--concurrency 8] [--ephemeral] [--rounds 2]

Per round: a fresh `nimbus serve` (durable, in a new data directory under /var/tmp, unless
--ephemeral), then `nimbus-loadgen --scenario events-lambda`: a rule on the default bus whose
target is a Rust `lambda_runtime` function (crates/runtime/tests/fixtures/rust-fn, built here,
1769 MB), and PutEvents requests of 10 events each until --events were put. The loadgen's figure
is the front door (PutEvents acknowledged, deliveries committed). Delivery is asynchronous:
the script then counts the function's invocations in its REPORT lines (the console's
`/_nimbus/api/functions`, read from CloudWatch Logs) until every event arrived, and reports
invocations per second from the first PutEvents to the last invocation's start, and the lag
between the last acknowledgement and the last invocation.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile

from peers import free_port, http_status, log, machine, median, spawn, stop, stop_all

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIXTURE = os.path.join(ROOT, "crates", "runtime", "tests", "fixtures", "rust-fn")
FUNCTION = "nimbus-loadgen-fn"
PER_PUT = 10


def build_function(workdir):
    target = os.environ.get("NIMBUS_RUST_FN_TARGET", "/var/tmp/nimbus-rust-fn-target")
    subprocess.run(
        ["cargo", "build", "--release", "--locked", "--quiet", "--manifest-path", os.path.join(FIXTURE, "Cargo.toml")],
        env={**os.environ, "CARGO_TARGET_DIR": target},
        check=True,
    )
    path = os.path.join(workdir, "rust-fn.zip")
    with zipfile.ZipFile(path, "w") as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o100755 << 16
        with open(os.path.join(target, "release", "bootstrap"), "rb") as f:
            z.writestr(info, f.read())
    return path


def invocations(endpoint):
    with urllib.request.urlopen(f"{endpoint}/_nimbus/api/functions", timeout=60) as r:
        body = json.load(r)
    for f in body["functions"]:
        if f["name"] == FUNCTION:
            return f["invocations"], f["lastInvokedMs"], f["errors"]
    return 0, None, 0


def one_round(args, zip_path, workdir):
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    data = tempfile.mkdtemp(prefix="nimbus-events-lambda-", dir="/var/tmp")
    state = ["--ephemeral"] if args.ephemeral else ["--data-dir", data]
    log_path = os.path.join(workdir, "nimbus.log")
    with open(log_path, "ab") as log_file:
        proc = spawn("nimbus", [args.nimbus, "serve", "--port", str(port), *state], os.environ.copy(), log_file, log_file)
    try:
        deadline = time.monotonic() + 30
        while http_status(f"{endpoint}/_nimbus/health", timeout=2.0) != 200:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"nimbus did not start; see {log_path}")
            time.sleep(0.05)
        requests = args.events // PER_PUT
        cmd = [args.loadgen, "--endpoint", endpoint, "--json", "--scenario", "events-lambda"]
        cmd += ["--concurrency", str(args.concurrency), "--requests", str(requests), "--warmup", "0s"]
        cmd += ["--function-zip", zip_path, "--function-runtime", "provided.al2023", "--function-memory", "1769"]
        started_ms = time.time() * 1000
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        acked_ms = time.time() * 1000
        if out.returncode != 0:
            raise RuntimeError(out.stderr.strip()[-500:])
        put = json.loads(out.stdout.strip().splitlines()[-1])
        expected = requests * PER_PUT
        seen, last_ms, errors, still = 0, None, 0, 0
        while seen < expected and still < 20:
            time.sleep(1.0)
            now, last_ms, errors = invocations(endpoint)
            still = still + 1 if now == seen else 0
            seen = now
        if seen < expected:
            raise RuntimeError(f"only {seen} of {expected} events reached the function")
        span_s = (last_ms - started_ms) / 1000
        return {
            "put_events_per_s": put["ops_per_sec"] * PER_PUT,
            "put_p50_ms": put["p50_ms"],
            "delivered_per_s": seen / span_s,
            "lag_ms": max(0.0, last_ms - acked_ms),
            "invocations": seen,
            "errors": errors,
        }
    finally:
        stop(proc)


def main():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nimbus", default=os.environ.get("NIMBUS_BIN", os.path.join(target, "release", "nimbus")))
    ap.add_argument("--loadgen", default=os.environ.get("NIMBUS_LOADGEN"))
    ap.add_argument("--events", type=int, default=50_000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--ephemeral", action="store_true", help="state in memory (default: a durable data directory)")
    args = ap.parse_args()
    args.loadgen = args.loadgen or os.path.join(os.path.dirname(args.nimbus), "nimbus-loadgen")
    for binary in (args.nimbus, args.loadgen):
        if not os.path.exists(binary):
            sys.exit(f"{binary} is missing: cargo build --release -p server -p loadgen")
    workdir = tempfile.mkdtemp(prefix="nimbus-bench-events-")
    zip_path = build_function(workdir)
    rounds = []
    try:
        for i in range(args.rounds):
            r = one_round(args, zip_path, workdir)
            log(f"round {i + 1}: {json.dumps(r)}")
            rounds.append(r)
    finally:
        stop_all()
    print(f"\nmachine: {machine()}; {args.events} events, {args.concurrency} clients, "
          f"{'ephemeral' if args.ephemeral else 'durable'} state; medians of {len(rounds)} rounds\n")
    print("| PutEvents (events/s) | PutEvents p50 | delivered to Lambda (invocations/s) | lag after the last ack |")
    print("|---:|---:|---:|---:|")
    m = lambda k: median([r[k] for r in rounds])  # noqa: E731
    print(f"| {m('put_events_per_s'):,.0f} | {m('put_p50_ms'):.2f} ms | {m('delivered_per_s'):,.0f} | {m('lag_ms'):,.0f} ms |")


if __name__ == "__main__":
    main()
