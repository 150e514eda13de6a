#!/usr/bin/env python3
"""Startup time to `Ready.` and idle memory of `nimbus serve`, beside the peers when present.

Usage: bench/startup.py [--runs N] [--nimbus PATH] [--moto]
Each run starts a fresh process on a free port, times spawn -> the `Ready.` line (Nimbus) or the
first successful HTTP answer (peers, which print no such line), waits a second idle, reads VmRSS
from /proc, and stops it. Reports the median and the spread of N runs.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

# One implementation of the port and memory probes, shared with the side-by-side runner.
from peers import free_port, tree_rss_mib as rss_mib


def run_nimbus(binary, ephemeral):
    port = free_port()
    data_dir = None if ephemeral else tempfile.mkdtemp(prefix="nimbus-bench-")
    args = [binary, "serve", "--port", str(port)]
    args += ["--ephemeral"] if ephemeral else ["--data-dir", data_dir]
    env = {"PATH": os.environ.get("PATH", ""), "NIMBUS_LOG": "warn"}
    t0 = time.perf_counter()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    line = p.stdout.readline()
    ready = (time.perf_counter() - t0) * 1000
    assert line.strip() == b"Ready.", line
    time.sleep(1.0)
    rss = rss_mib(p.pid)
    p.terminate()
    p.wait(timeout=20)
    if data_dir:
        shutil.rmtree(data_dir, ignore_errors=True)
    return ready, rss


def wait_http(url, deadline):
    while time.perf_counter() < deadline:
        try:
            urllib.request.urlopen(url, timeout=0.5).read()
            return True
        except Exception:
            time.sleep(0.005)
    return False


def run_moto():
    port = free_port()
    t0 = time.perf_counter()
    p = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    ok = wait_http(f"http://127.0.0.1:{port}/moto-api/", t0 + 60)
    ready = (time.perf_counter() - t0) * 1000
    time.sleep(1.0)
    rss = rss_mib(p.pid)
    p.terminate()
    p.wait(timeout=20)
    assert ok, "moto did not answer"
    return ready, rss


def report(name, samples):
    ready = [s[0] for s in samples]
    rss = [s[1] for s in samples]
    print(
        f"| {name} | {statistics.median(ready):.1f} ms | {min(ready):.1f}–{max(ready):.1f} ms "
        f"| {statistics.median(rss):.1f} MiB | {len(samples)} |"
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--nimbus", default=os.environ.get("NIMBUS_BIN", "target/release/nimbus"))
    ap.add_argument("--moto", action="store_true", help="also measure `python -m moto.server`")
    a = ap.parse_args()
    print("| server | ready (median) | ready (min–max) | idle RSS (median) | runs |")
    print("|---|---|---|---|---|")
    report("nimbus serve (data dir, SQLite)", [run_nimbus(a.nimbus, False) for _ in range(a.runs)])
    report("nimbus serve --ephemeral", [run_nimbus(a.nimbus, True) for _ in range(a.runs)])
    if a.moto:
        report("moto server", [run_moto() for _ in range(max(3, a.runs // 4))])


if __name__ == "__main__":
    main()
