#!/usr/bin/env python3
"""API Gateway → a warm Node function: Nimbus beside serverless-offline, in one run.

    bench/apigw.py --install            # serverless@3 + serverless-offline@13 into /var/tmp (npm)
    bench/apigw.py [--rounds 2] [--duration 10s] [--concurrency 8] [--wrk] [--series 6]

Both servers run bench/apigw/node/handler.js behind `GET /items` of an HTTP API (payload 2.0):
Nimbus from bench/apigw/template.yaml through `nimbus deploy`, serverless-offline from
bench/apigw/serverless.yml. Per round and server: start it, one untimed request (the cold
start), then `nimbus-loadgen` (unsigned GETs on keep-alive connections) at --concurrency for
throughput and at concurrency 1 for latency, and, with --wrk, `wrk` at the same concurrency as a
second client. For Nimbus it also measures a direct Lambda `Invoke` of a function with the same
code at concurrency 1 (the gateway's added latency is the difference of the two p50s), and the
same API's `GET /rust` on a Rust `lambda_runtime` function (crates/runtime/tests/fixtures/rust-fn,
built here; serverless-offline cannot run it). With --series N, each server then serves N more
back-to-back windows of --duration at --concurrency: how its throughput holds up as it keeps
running (and its resident memory at the end). The table shows medians over the rounds.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile

from peers import free_port, http_status, log, machine, median, spawn, stop, stop_all

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
APP = os.path.join(HERE, "apigw")
SLS_DIR = os.environ.get("NIMBUS_BENCH_SLS_DIR", "/var/tmp/nimbus-bench-sls")
SLS_PACKAGES = ["serverless@3", "serverless-offline@13"]


def install():
    os.makedirs(SLS_DIR, exist_ok=True)
    with open(os.path.join(SLS_DIR, "package.json"), "w") as f:
        json.dump({"name": "nimbus-bench-sls", "private": True}, f)
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", *SLS_PACKAGES], cwd=SLS_DIR, check=True
    )


def wait_until(url, proc, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}")
        if http_status(url, timeout=2.0) == 200:
            return
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer 200 within {seconds} s")


def loadgen(args, endpoint, path, concurrency, *extra):
    cmd = [args.loadgen, "--endpoint", endpoint, "--json", "--threads", "1"]
    cmd += ["--concurrency", str(concurrency), "--warmup", args.warmup, "--duration", args.duration]
    cmd += ["--scenario", "health", "--health-path", path] if path else list(extra)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "loadgen failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def wrk(args, url, concurrency):
    out = subprocess.run(
        ["wrk", "-t1", f"-c{concurrency}", f"-d{args.duration}", "--latency", url],
        capture_output=True,
        text=True,
        timeout=600,
    )
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out.stdout)
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)", out.stdout, re.M)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out.stdout)
    if not rps or not p50 or errors:
        raise RuntimeError("wrk: " + (out.stdout + out.stderr).strip()[-300:])
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p50.group(2)]
    return {"ops_per_sec": float(rps.group(1)), "p50_ms": float(p50.group(1)) * scale}


def function_zip(workdir):
    path = os.path.join(workdir, "handler.zip")
    with zipfile.ZipFile(path, "w") as z:
        z.write(os.path.join(APP, "node", "handler.js"), "handler.js")
    return path


def rust_bootstrap():
    """Builds the Rust fixture function once; its `bootstrap` path."""
    fixture = os.path.join(ROOT, "crates", "runtime", "tests", "fixtures", "rust-fn")
    target = os.environ.get("NIMBUS_RUST_FN_TARGET", "/var/tmp/nimbus-rust-fn-target")
    subprocess.run(
        ["cargo", "build", "--release", "--locked", "--quiet", "--manifest-path", os.path.join(fixture, "Cargo.toml")],
        env={**os.environ, "CARGO_TARGET_DIR": target},
        check=True,
    )
    return os.path.join(target, "release", "bootstrap")


def rss_mib(pid):
    """Resident memory of a process alone and with its descendants (function processes,
    serverless-offline's workers), MiB, from /proc."""
    own, total, stack = None, 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                total += next((int(l.split()[1]) for l in f if l.startswith("VmRSS:")), 0)
                own = total if own is None else own
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    stack += [int(c) for c in f.read().split()]
        except (OSError, ValueError):
            continue
    return (own or 0) / 1024, total / 1024


def series(args, endpoint, path, results, pid):
    """--series: back-to-back windows at --concurrency on a server that keeps running."""
    for _ in range(args.series):
        results.setdefault("series", []).append(loadgen(args, endpoint, path, args.concurrency)["ops_per_sec"])
    results.setdefault("rss_mib", []).append(rss_mib(pid))


def run_nimbus(args, workdir, results):
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log_file = open(os.path.join(workdir, "nimbus.log"), "w")
    env = dict(os.environ, NIMBUS_LOG="warn")
    proc = spawn("nimbus", [args.nimbus, "serve", "--ephemeral", "--port", str(port)], env, log_file, log_file)
    try:
        wait_until(endpoint + "/_nimbus/health", proc, 30)
        app = os.path.join(workdir, "app")
        shutil.copytree(APP, app)
        os.makedirs(os.path.join(app, "rust"))
        shutil.copy(args.rust_bootstrap, os.path.join(app, "rust", "bootstrap"))
        deploy = subprocess.run(
            [args.nimbus, "deploy", os.path.join(app, "template.yaml"), "--stack-name", "bench"]
            + ["--parameter-overrides", "RustCode=yes"],
            env=dict(os.environ, NIMBUS_ENDPOINT=endpoint, NIMBUS_CACHE_DIR=os.path.join(workdir, "cache")),
            capture_output=True,
            text=True,
            timeout=300,
        )
        api = re.search(r"ApiId = (\S+)", deploy.stdout)
        if deploy.returncode != 0 or not api:
            raise RuntimeError("deploy failed: " + (deploy.stdout + deploy.stderr)[-400:])
        path = f"/_aws/execute-api/{api.group(1)}/items"
        t0 = time.monotonic()
        if http_status(endpoint + path, timeout=60) != 200:
            raise RuntimeError("the first request failed")
        results.setdefault("cold_ms", []).append((time.monotonic() - t0) * 1000)
        results.setdefault("load", []).append(loadgen(args, endpoint, path, args.concurrency))
        results.setdefault("single", []).append(loadgen(args, endpoint, path, 1))
        if args.wrk:
            results.setdefault("wrk", []).append(wrk(args, endpoint + path, args.concurrency))
        invoke = ["--scenario", "lambda-invoke", "--function-zip", function_zip(workdir)]
        invoke += ["--function-runtime", "nodejs20.x", "--function-handler", "handler.handler"]
        # The same memory size (and so CPU share) as template.yaml gives the function.
        invoke += ["--function-memory", "1024"]
        results.setdefault("invoke", []).append(loadgen(args, endpoint, None, 1, *invoke))
        rust = f"/_aws/execute-api/{api.group(1)}/rust"
        if http_status(endpoint + rust, timeout=60) != 200:
            raise RuntimeError("the first request to the Rust function failed")
        results.setdefault("rust_load", []).append(loadgen(args, endpoint, rust, args.concurrency))
        results.setdefault("rust_single", []).append(loadgen(args, endpoint, rust, 1))
        if args.wrk:
            results.setdefault("rust_wrk", []).append(wrk(args, endpoint + rust, args.concurrency))
        series(args, endpoint, path, results, proc.pid)
    finally:
        stop(proc)
        log_file.close()


def run_offline(args, workdir, results):
    app = os.path.join(workdir, "sls")
    shutil.copytree(APP, app, dirs_exist_ok=True)
    link = os.path.join(app, "node_modules")
    if not os.path.exists(link):
        os.symlink(os.path.join(SLS_DIR, "node_modules"), link)
    port, lambda_port = free_port(), free_port()
    log_file = open(os.path.join(workdir, "offline.log"), "w")
    env = dict(os.environ, SLS_TELEMETRY_DISABLED="1", SLS_NOTIFICATIONS_MODE="off", SLS_DEPRECATION_DISABLE="*")
    cmd = [os.path.join(SLS_DIR, "node_modules", ".bin", "serverless"), "offline", "start"]
    cmd += ["--httpPort", str(port), "--lambdaPort", str(lambda_port), "--noPrependStageInUrl"]
    proc = spawn("serverless-offline", cmd, env, log_file, log_file, cwd=app)
    try:
        url = f"http://127.0.0.1:{port}/items"
        t0 = time.monotonic()
        wait_until(url, proc, 90)
        results.setdefault("cold_ms", []).append((time.monotonic() - t0) * 1000)
        endpoint = f"http://127.0.0.1:{port}"
        results.setdefault("load", []).append(loadgen(args, endpoint, "/items", args.concurrency))
        results.setdefault("single", []).append(loadgen(args, endpoint, "/items", 1))
        if args.wrk:
            results.setdefault("wrk", []).append(wrk(args, url, args.concurrency))
        series(args, endpoint, "/items", results, proc.pid)
    finally:
        stop(proc)
        log_file.close()


def med(runs, key):
    values = [r[key] for r in runs if key in r]
    return median(values) if values else None


def report(args, results):
    n, o = results["nimbus"], results["serverless-offline"]
    lines = [
        f"Machine: {machine()}. Date: {time.strftime('%Y-%m-%d')}. Rounds: {args.rounds}, "
        f"{args.duration} timed after {args.warmup} warmup, nimbus-loadgen at concurrency "
        f"{args.concurrency} (throughput) and 1 (latency).",
        "",
        "| server | req/s | p50 ms | p99 ms | p50 ms at c=1 | p99 ms at c=1 | first request ms |"
        + (" wrk req/s |" if args.wrk else ""),
        "|---|---:|---:|---:|---:|---:|---:|" + ("---:|" if args.wrk else ""),
    ]
    rows = [("nimbus", n, ""), ("nimbus, Rust function", n, "rust_"), ("serverless-offline", o, "")]
    for name, r, k in rows:
        if not r.get(k + "load"):
            lines.append(f"| {name} | n/a ({r.get('error', '?')}) | | | | | |")
            continue
        cold = f"{median(r['cold_ms']):,.0f}" if not k else ""
        row = (
            f"| {name} | {med(r[k + 'load'], 'ops_per_sec'):,.0f} | {med(r[k + 'load'], 'p50_ms'):.3f} | "
            f"{med(r[k + 'load'], 'p99_ms'):.3f} | {med(r[k + 'single'], 'p50_ms'):.3f} | "
            f"{med(r[k + 'single'], 'p99_ms'):.3f} | {cold} |"
        )
        if args.wrk:
            row += f" {med(r.get(k + 'wrk', []), 'ops_per_sec') or 0:,.0f} |"
        lines.append(row)
    if n.get("load") and o.get("load"):
        lines.append("")
        lines.append(
            f"Throughput Nimbus/serverless-offline: {med(n['load'], 'ops_per_sec') / med(o['load'], 'ops_per_sec'):.1f}×."
        )
    if n.get("invoke") and n.get("single"):
        added = med(n["single"], "p50_ms") - med(n["invoke"], "p50_ms")
        lines.append(
            f"Gateway-added p50 (API Gateway GET minus direct Invoke of the same code, both at c=1): "
            f"{added:.3f} ms (Invoke p50 {med(n['invoke'], 'p50_ms'):.3f} ms)."
        )
    if args.series:
        lines.append("")
        lines.append(f"Back-to-back {args.duration} windows at concurrency {args.concurrency} after the above, req/s per window (each round):")
        for name, r in [("nimbus", n), ("serverless-offline", o)]:
            windows = r.get("series", [])
            per_round = [windows[i : i + args.series] for i in range(0, len(windows), args.series)]
            text = "; ".join(" → ".join(f"{w:,.0f}" for w in chunk) for chunk in per_round)
            rss = ", ".join(f"{own:,.0f} ({total:,.0f} with its children)" for own, total in r.get("rss_mib", []))
            lines.append(f"- {name}: {text or 'n/a'} (resident memory at the end, MiB: {rss or '?'})")
    print("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    ap.add_argument("--nimbus", default=os.environ.get("NIMBUS_BIN", os.path.join(target, "release", "nimbus")))
    ap.add_argument("--loadgen", default=os.environ.get("NIMBUS_LOADGEN"))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--duration", default="10s")
    ap.add_argument("--warmup", default="2s")
    ap.add_argument("--wrk", action="store_true", help="also measure with wrk (Debian package)")
    ap.add_argument("--series", type=int, default=0, help="back-to-back windows after the measurements")
    ap.add_argument("--install", action="store_true", help="npm-install serverless@3 and serverless-offline@13")
    args = ap.parse_args()
    args.loadgen = args.loadgen or os.path.join(os.path.dirname(args.nimbus), "nimbus-loadgen")
    signal.signal(signal.SIGINT, lambda *_: (stop_all(), sys.exit(130)))
    signal.signal(signal.SIGTERM, lambda *_: (stop_all(), sys.exit(143)))
    if args.install:
        install()
    args.rust_bootstrap = rust_bootstrap()
    results = {"nimbus": {}, "serverless-offline": {}}
    with tempfile.TemporaryDirectory(prefix="nimbus-bench-apigw-") as workdir:
        for round_no in range(args.rounds):
            # Alternate which server goes first, so neither always runs on a warmer machine.
            order = [("nimbus", run_nimbus), ("serverless-offline", run_offline)]
            for name, run in order if round_no % 2 == 0 else order[::-1]:
                log(f"round {round_no + 1}: {name}")
                path = os.path.join(workdir, f"{name}-{round_no}")
                os.makedirs(path)
                try:
                    run(args, path, results[name])
                except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
                    results[name]["error"] = str(e)[:200]
                    log(f"  {name}: {e}")
    report(args, results)


if __name__ == "__main__":
    main()
