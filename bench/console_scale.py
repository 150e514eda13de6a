#!/usr/bin/env python3
"""The web console at scale: 1,000 functions and 100,000+ real invocations, then each console
API endpoint timed and the server's memory read.

    bench/console_scale.py [--nimbus PATH] [--functions 1000] [--per-function 100]
                           [--hot 100000] [--concurrency 24] [--repeat 5] [--data-dir]
                           [--out results.json]

What it does:

1. builds the function: `bench/console_scale/bootstrap.rs` (std only, `rustc -O`), a
   `provided.al2023` bootstrap that echoes its event and prints one line; about a megabyte
   resident per environment, so a thousand warm environments fit beside the server;
2. starts `nimbus serve --ephemeral` (or, with `--data-dir`, on the default SQLite engine in a
   fresh directory under /var/tmp) on a free port;
3. creates `--functions` functions (`f0000` … ) with boto3, and invokes them for real through
   the Lambda Invoke API (`--concurrency` client threads, keep-alive, unsigned: Nimbus takes any
   caller): `f0000` (the hot one) `--hot` times, every other function `--per-function` times,
   all shuffled together, so the hot function's invocations are spread over the whole run;
4. times each console endpoint `--repeat` times (median and max, answer size), the window the
   page asks for by default (the last 24 hours): `graph`, `functions`, `coldstarts`, `cost`,
   one ordinary function's first page of invocations, the hot function's first page, its
   second page (the first page's `next`), and a page near its oldest invocation (a cursor one
   second after the run began), and `traces`;
5. reads the server's VmRSS and VmHWM (the nimbus process alone) and the function processes'
   count and total RSS; with `--data-dir`, it then restarts the server on the same directory
   and times how long the summaries take to be read back (`complete: true`).

Figures go to stdout as a Markdown table (and to `--out` as JSON). The server and every
function process are stopped on exit.
"""

import argparse
import http.client
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import free_port, log, machine, spawn, stop, stop_all  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DAY_MS = 86_400_000


def build_bootstrap(workdir):
    out = os.path.join(workdir, "bootstrap")
    subprocess.run(
        ["rustc", "-O", "--edition", "2021", "-C", "strip=symbols", "-o", out,
         os.path.join(HERE, "console_scale", "bootstrap.rs")],
        check=True,
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o100755 << 16
        with open(out, "rb") as f:
            z.writestr(info, f.read())
    return buf.getvalue()


def start(nimbus, port, data_dir, logfile):
    args = [nimbus, "serve", "--port", str(port)]
    args += ["--data-dir", data_dir] if data_dir else ["--ephemeral"]
    env = {**os.environ, "NIMBUS_LOG": "warn"}
    out = open(logfile + ".stdout", "w")
    err = open(logfile, "a")
    proc = spawn("nimbus", args, env, out, err)
    deadline = time.time() + 60
    while time.time() < deadline:
        with open(logfile + ".stdout") as f:
            if "Ready." in f.read():
                return proc
        if proc.poll() is not None:
            raise SystemExit(f"nimbus exited: see {logfile}")
        time.sleep(0.05)
    raise SystemExit("nimbus did not print Ready.")


def status_kb(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def children_rss(pid):
    """Count and total RSS (MiB) of every process below `pid` (the function environments)."""
    kids, total = 0, 0
    try:
        out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,rss="], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None, None
    rows = [tuple(int(x) for x in line.split()) for line in out.splitlines() if line.strip()]
    parents = {p: pp for p, pp, _ in rows}
    for p, _, rss in rows:
        q = parents.get(p)
        while q is not None and q != pid and q > 1:
            q = parents.get(q)
        if q == pid:
            kids += 1
            total += rss
    return kids, total / 1024


def create_functions(endpoint, names, zipped):
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "lambda", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
        aws_secret_access_key="test", config=Config(retries={"max_attempts": 2}, max_pool_connections=8),
    )
    errors = []

    def create(chunk):
        for name in chunk:
            try:
                client.create_function(
                    FunctionName=name, Runtime="provided.al2023", Handler="bootstrap", MemorySize=128,
                    Role="arn:aws:iam::000000000000:role/bench", Code={"ZipFile": zipped},
                )
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(f"{name}: {e}")

    chunks = [names[i::4] for i in range(4)]
    threads = [threading.Thread(target=create, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"{len(errors)} functions not created, e.g. {errors[0]}")


def invoke_all(port, jobs, concurrency):
    """Invokes every function name in `jobs` once; returns (seconds, throttled retries)."""
    lock = threading.Lock()
    position = [0]
    failures = []
    throttled = [0]

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                if position[0] >= len(jobs) or failures:
                    return
                name = jobs[position[0]]
                position[0] += 1
            for attempt in range(50):
                try:
                    conn.request("POST", f"/2015-03-31/functions/{name}/invocations", body=b'{"bench":1}',
                                 headers={"content-type": "application/json"})
                    resp = conn.getresponse()
                    body = resp.read()
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                    continue
                if resp.status == 429:
                    with lock:
                        throttled[0] += 1
                    time.sleep(0.01 * (attempt + 1))
                    continue
                if resp.status != 200 or resp.getheader("x-amz-function-error"):
                    with lock:
                        failures.append(f"{name}: {resp.status} {body[:200]!r}")
                break

    started = time.time()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    last = 0
    while any(t.is_alive() for t in threads):
        time.sleep(5)
        done = position[0]
        log(f"  {done}/{len(jobs)} invocations ({(done - last) / 5:.0f}/s)")
        last = done
    for t in threads:
        t.join()
    if failures:
        raise SystemExit(f"invocations failed, e.g. {failures[0]}")
    return time.time() - started, throttled[0]


def get(endpoint, path, timeout=900):
    started = time.perf_counter()
    with urllib.request.urlopen(endpoint + path, timeout=timeout) as r:
        body = r.read()
    return time.perf_counter() - started, body


def wait_for(endpoint, want, timeout=600):
    """Until the console counts every invocation (the function list, the last 24 hours)."""
    deadline = time.time() + timeout
    while True:
        since = int(time.time() * 1000) - DAY_MS
        _, body = get(endpoint, f"/_nimbus/api/functions?since={since}")
        doc = json.loads(body)
        got = sum(f["invocations"] for f in doc["functions"])
        if got >= want and doc.get("complete", True):
            return got
        if time.time() > deadline:
            raise SystemExit(f"the console counts {got} invocations, not {want}")
        time.sleep(2)


def measure(endpoint, paths, repeat):
    rows = []
    for label, path in paths:
        times, size = [], 0
        for _ in range(repeat):
            seconds, body = get(endpoint, path() if callable(path) else path)
            times.append(seconds * 1000)
            size = len(body)
        rows.append({"endpoint": label, "median_ms": statistics.median(times), "max_ms": max(times), "bytes": size})
        log(f"  {label}: median {statistics.median(times):.1f} ms, max {max(times):.1f} ms, {size} bytes")
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nimbus", default=os.environ.get("NIMBUS_BIN") or os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "nimbus"))
    parser.add_argument("--functions", type=int, default=1000)
    parser.add_argument("--per-function", type=int, default=100)
    parser.add_argument("--hot", type=int, default=100_000, help="invocations of f0000")
    parser.add_argument("--concurrency", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data-dir", action="store_true", help="the SQLite engine instead of --ephemeral")
    parser.add_argument("--out")
    args = parser.parse_args()
    if not os.access(args.nimbus, os.X_OK):
        raise SystemExit(f"no nimbus binary at {args.nimbus}: cargo build --release -p server")

    work = tempfile.mkdtemp(prefix="nimbus-console-scale-", dir="/var/tmp")
    data_dir = os.path.join(work, "data") if args.data_dir else None
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    logfile = os.path.join(work, "nimbus.log")
    try:
        zipped = build_bootstrap(work)
        proc = start(args.nimbus, port, data_dir, logfile)
        names = [f"f{i:04d}" for i in range(args.functions)]
        t0 = time.time()
        create_functions(endpoint, names, zipped)
        log(f"{len(names)} functions created in {time.time() - t0:.1f} s")
        baseline_rss = status_kb(proc.pid, "VmRSS")
        jobs = [names[0]] * args.hot + [n for n in names[1:] for _ in range(args.per_function)]
        random.Random(7).shuffle(jobs)
        run_started_ms = int(time.time() * 1000)
        log(f"invoking {len(jobs)} times, {args.concurrency} at once")
        seconds, throttled = invoke_all(port, jobs, args.concurrency)
        log(f"{len(jobs)} invocations in {seconds:.0f} s ({len(jobs) / seconds:.0f}/s), {throttled} throttled and retried")
        counted = wait_for(endpoint, len(jobs))
        log(f"the console counts {counted}")

        since = lambda: f"since={int(time.time() * 1000) - DAY_MS}"  # noqa: E731
        hot, ordinary = names[0], names[min(1, len(names) - 1)]
        _, first = get(endpoint, f"/_nimbus/api/invocations?function={hot}&limit=100&{since()}")
        next_cursor = json.loads(first)["next"]
        old_cursor = f"{run_started_ms + 1000}:0"
        paths = [
            ("graph", "/_nimbus/api/graph"),
            ("functions", lambda: f"/_nimbus/api/functions?{since()}"),
            ("coldstarts", lambda: f"/_nimbus/api/coldstarts?{since()}"),
            ("cost", lambda: f"/_nimbus/api/cost?{since()}"),
            (f"invocations {ordinary} page 1 (100)", lambda: f"/_nimbus/api/invocations?function={ordinary}&limit=100&{since()}"),
            (f"invocations {hot} page 1 (100)", lambda: f"/_nimbus/api/invocations?function={hot}&limit=100&{since()}"),
            (f"invocations {hot} page 2 (100)", lambda: f"/_nimbus/api/invocations?function={hot}&limit=100&after={urllib.parse.quote(next_cursor or '')}&{since()}"),
            (f"invocations {hot} near its oldest (100)", lambda: f"/_nimbus/api/invocations?function={hot}&limit=100&after={urllib.parse.quote(old_cursor)}&{since()}"),
            ("traces (50)", "/_nimbus/api/traces?limit=50"),
        ]
        log("timing the console's endpoints")
        rows = measure(endpoint, paths, args.repeat)
        rss, hwm = status_kb(proc.pid, "VmRSS"), status_kb(proc.pid, "VmHWM")
        kids, kids_rss = children_rss(proc.pid)
        result = {
            "machine": machine(),
            "nimbus": args.nimbus,
            "engine": "sqlite" if data_dir else "memory (--ephemeral)",
            "functions": len(names),
            "invocations": len(jobs),
            "hot_invocations": args.hot,
            "invoke_seconds": seconds,
            "endpoints": rows,
            "server_rss_mib_before_invocations": baseline_rss / 1024 if baseline_rss else None,
            "server_rss_mib": rss / 1024 if rss else None,
            "server_hwm_mib": hwm / 1024 if hwm else None,
            "function_processes": kids,
            "function_rss_mib": kids_rss,
        }
        if data_dir:
            stop(proc)
            t0 = time.time()
            proc = start(args.nimbus, port, data_dir, logfile)
            ready = time.time() - t0
            wait_for(endpoint, len(jobs), timeout=1800)
            result["restart_ready_s"] = ready
            result["restart_complete_s"] = time.time() - t0
            result["server_rss_mib_after_restart"] = (status_kb(proc.pid, "VmRSS") or 0) / 1024
            log(f"after a restart: Ready. in {ready:.1f} s, summaries read back in {result['restart_complete_s']:.1f} s")
        stop(proc)

        print(f"\nMachine: {result['machine']}. Engine: {result['engine']}. "
              f"{result['functions']} functions, {result['invocations']} invocations ({args.hot} of {hot}), "
              f"invoked at {len(jobs) / seconds:.0f}/s.\n")
        print("| endpoint | median ms | max ms | bytes |")
        print("|---|---:|---:|---:|")
        for r in rows:
            print(f"| {r['endpoint']} | {r['median_ms']:.1f} | {r['max_ms']:.1f} | {r['bytes']} |")
        print(f"\nServer RSS: {result['server_rss_mib_before_invocations']:.0f} MiB with the functions created, "
              f"{result['server_rss_mib']:.0f} MiB after the invocations (peak {result['server_hwm_mib']:.0f} MiB); "
              f"{kids} function processes, {kids_rss:.0f} MiB together.")
        if data_dir:
            print(f"Restart: Ready. in {result['restart_ready_s']:.1f} s, summaries complete in "
                  f"{result['restart_complete_s']:.1f} s, RSS {result['server_rss_mib_after_restart']:.0f} MiB.")
        if args.out:
            with open(args.out, "w") as f:
                json.dump(result, f, indent=2)
    finally:
        stop_all()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
