#!/usr/bin/env python3
"""A soak: one Nimbus server under a steady mixed load for an hour, watched for leaks.

    bench/soak.py --build                       # build release binaries, soak for 60 minutes
    bench/soak.py --duration 5m --window 30s    # a short look

Every scenario in the mix runs in its own `nimbus-loadgen` process, paced at a fixed rate
(`--rate`), for one window at a time, all windows back to back; each window's figures (ops/s,
p50/p99/max, errors) are kept per scenario. At the end of every window the server is sampled
from /proc: its resident memory (the server process alone, and the function processes under
it), open file descriptors, threads, descendant processes, and the data directory's size.

The report gives, per scenario, the p99 of the first and the last ten minutes and the worst
window; for the server, the samples at the start of the steady state (after `--settle`), at the
end, their range, and the memory trend as a least-squares slope in MiB per hour. A soak passes
when no request failed, descriptors, threads and processes stay within a small band, and the
server's anonymous memory is flat (its whole RSS also counts file pages, which grow as more of
the binary's code runs and are no leak); the script says which of these held, and exits
non-zero if any did not.

Written data is not all deleted: write scenarios delete what they wrote after each window, but
messages sent to queues (sqs-send, events-put, sns-publish) accumulate, as a backlog would.

Python 3 standard library only; reuses the process helpers of peers.py.
"""

import argparse
import datetime
import json
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402  (the process helpers: spawn, stop, tree RSS, machine)

DEFAULT_MIX = (
    "s3-put:40,s3-get:40,dynamodb-put:40,dynamodb-query:40,sqs-send:40,sqs-receive:20,"
    "events-put:30,sns-publish:20,lambda-invoke:20,apigw-lambda:20"
)


def log(message):
    print(f"[soak] {message}", file=sys.stderr, flush=True)


def parse_mix(text):
    mix = []
    for part in text.split(","):
        name, _, rate = part.strip().partition(":")
        mix.append((name, float(rate or 20)))
    return mix


def descendants(pid):
    """Pids under `pid` (not `pid` itself), from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                text = f.read()
        except OSError:
            continue
        ppid = int(text[text.rfind(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], list(children.get(pid, []))
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def status_field(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def dir_mib(path):
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                pass
    return total / 1024 / 1024


def sample(pid, data_dir):
    kids = descendants(pid)
    try:
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        fds = None
    return {
        "server_rss_mib": round(status_field(pid, "VmRSS") / 1024, 1),
        # Anonymous memory is what a leak grows; the rest of RSS is file pages (the binary's
        # code as it is first run, SQLite's shared-memory index), which the kernel can reclaim.
        "server_anon_mib": round(status_field(pid, "RssAnon") / 1024, 1),
        "functions_rss_mib": round(sum(status_field(k, "VmRSS") for k in kids) / 1024, 1),
        "fds": fds,
        "threads": status_field(pid, "Threads"),
        "processes": len(kids),
        "data_mib": round(dir_mib(data_dir), 1),
    }


def start_server(args, data_dir, out):
    port = peers.free_port()
    cmd = [args.nimbus, "serve", "--port", str(port), "--data-dir", data_dir] + args.nimbus_arg
    proc = peers.spawn("nimbus", cmd, dict(os.environ, NIMBUS_LOG="warn"), subprocess.PIPE, out)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        line = proc.stdout.readline()
        if line.strip() == b"Ready.":
            # Nothing else is printed on stdout; the pipe stays open but unread.
            return proc, f"http://127.0.0.1:{port}"
        if not line:
            break
    peers.stop(proc)
    raise SystemExit(f"nimbus did not print Ready. (see {out.name})")


def run_window(args, endpoint, mix):
    procs = []
    for scenario, rate in mix:
        cmd = [
            args.loadgen, "--endpoint", endpoint, "--scenario", scenario, "--json", "--allow-errors",
            "--rate", str(rate), "--concurrency", str(args.concurrency), "--warmup", "0s",
            "--duration", f"{args.window}s", "--access-key", args.access_key,
        ]  # fmt: skip
        procs.append((scenario, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
    results = {}
    for scenario, proc in procs:
        try:
            stdout, stderr = proc.communicate(timeout=args.window + 300)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
        lines = stdout.strip().splitlines()
        if proc.returncode == 0 and lines:
            results[scenario] = json.loads(lines[-1])
        else:
            results[scenario] = {"failed": (stderr.strip().splitlines() or ["no output"])[-1][:300]}
    return results


def slope_per_hour(points):
    """Least-squares slope of (seconds, value) points, per hour."""
    if len(points) < 3:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return None if den == 0 else sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den * 3600


def report(args, mix, windows):
    out = [f"Machine: {peers.machine()}. Date: {datetime.date.today().isoformat()}."]
    total = sum(r for _, r in mix)
    minutes = windows[-1]["t"] / 60 if windows else 0
    out.append(
        f"Load: {len(mix)} scenarios, {total:.0f} ops/s offered in all, {args.concurrency} connections each, "
        f"{len(windows)} windows of {args.window} s ({minutes:.0f} min)."
    )
    out.append("")
    out.append("| scenario | rate | ops | errors | p99 first 10 min | p99 last 10 min | worst window p99 | max |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    failures = []
    for scenario, rate in mix:
        rows = [w["results"].get(scenario, {}) for w in windows]
        ok = sum(r.get("ok", 0) for r in rows)
        errors = sum(r.get("errors", 0) for r in rows) + sum(1 for r in rows if "failed" in r)
        if errors:
            first = next((r["failed"] for r in rows if "failed" in r), None)
            failures.append(f"{scenario}: {errors} errors" + (f" ({first})" if first else ""))
        p99 = [(w["t"], r["p99_ms"]) for w, r in zip(windows, rows) if "p99_ms" in r]
        head = [v for t, v in p99 if t <= 600]
        tail = [v for t, v in p99 if t > minutes * 60 - 600]
        worst = max((v for _, v in p99), default=None)
        top = max((r.get("max_ms", 0) for r in rows), default=None)
        med = lambda vs: f"{statistics.median(vs):.1f}" if vs else "–"  # noqa: E731
        out.append(
            f"| {scenario} | {rate:.0f}/s | {ok:,} | {errors} | {med(head)} ms | {med(tail)} ms | "
            f"{worst if worst is not None else '–'} ms | {top} ms |"
        )
    steady = [w for w in windows if w["t"] > args.settle] or windows
    out.append("")
    out.append(f"Server samples after the first {args.settle} s (start → end, range):")
    verdicts = []
    for key, unit in (
        ("server_rss_mib", "MiB"),
        ("server_anon_mib", "MiB"),
        ("functions_rss_mib", "MiB"),
        ("fds", ""),
        ("threads", ""),
        ("processes", ""),
        ("data_mib", "MiB"),
    ):
        values = [w["sample"][key] for w in steady if w["sample"].get(key) is not None]
        if not values:
            continue
        trend = slope_per_hour([(w["t"], w["sample"][key]) for w in steady if w["sample"].get(key) is not None])
        trend_text = f", trend {trend:+.1f} {unit or 'per'}/h" if trend is not None else ""
        out.append(f"- {key}: {values[0]} → {values[-1]} {unit} (min {min(values)}, max {max(values)}){trend_text}")
        if key in ("fds", "threads", "processes") and max(values) - min(values) > args.band:
            verdicts.append(f"{key} moved by {max(values) - min(values)} (band {args.band})")
        if key == "server_anon_mib" and trend is not None and trend > args.max_rss_growth:
            verdicts.append(f"server memory grew {trend:+.1f} MiB/h (limit {args.max_rss_growth})")
    out.append("")
    problems = failures + verdicts
    out.append("Verdict: " + ("steady (no errors, no leak)" if not problems else "; ".join(problems)))
    return "\n".join(out), not problems


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(peers.ROOT, "target"))
    ap.add_argument("--build", action="store_true", help="cargo build --release the server and the load generator")
    ap.add_argument("--nimbus", default=os.path.join(target, "release", "nimbus"))
    ap.add_argument("--loadgen", default=os.path.join(target, "release", "nimbus-loadgen"))
    ap.add_argument("--nimbus-arg", action="append", default=[], help="extra argument for nimbus serve")
    ap.add_argument("--mix", default=DEFAULT_MIX, help="scenario:ops-per-second,... (default: %(default)s)")
    ap.add_argument("--concurrency", type=int, default=2, help="connections per scenario")
    ap.add_argument("--duration", default="60m", help="total length (60m, 300s)")
    ap.add_argument("--window", type=int, default=60, help="seconds per window")
    ap.add_argument("--settle", type=int, default=300, help="seconds before the steady state is judged")
    ap.add_argument("--band", type=int, default=16, help="allowed range of fds, threads and processes")
    ap.add_argument("--max-rss-growth", type=float, default=16.0, help="allowed trend of the server's anonymous memory, MiB/h")
    ap.add_argument("--access-key", default="123456789012")
    ap.add_argument("--json-out", help="write every window's figures here, one JSON object per line")
    args = ap.parse_args()
    signal.signal(signal.SIGINT, peers.on_signal)
    signal.signal(signal.SIGTERM, peers.on_signal)
    if args.build:
        peers.build(target)
    duration = peers.parse_seconds(args.duration)
    mix = parse_mix(args.mix)
    args.settle = min(args.settle, int(duration / 2))

    data_dir = tempfile.mkdtemp(prefix="nimbus-soak-", dir="/var/tmp")
    server_log = open(os.path.join(data_dir + ".log"), "wb")
    log(f"data dir {data_dir}, server log {server_log.name}")
    proc, endpoint = start_server(args, data_dir, server_log)
    windows = []
    sink = open(args.json_out, "w") if args.json_out else None
    started = time.monotonic()
    try:
        while time.monotonic() - started + args.window <= duration + 1:
            results = run_window(args, endpoint, mix)
            if proc.poll() is not None:
                raise SystemExit(f"nimbus exited with {proc.returncode} (see {server_log.name})")
            window = {"t": round(time.monotonic() - started), "results": results, "sample": sample(proc.pid, data_dir)}
            windows.append(window)
            if sink:
                sink.write(json.dumps(window) + "\n")
                sink.flush()
            worst = max((r.get("p99_ms", 0) for r in results.values()), default=0)
            errors = sum(r.get("errors", 0) + ("failed" in r) for r in results.values())
            log(f"t={window['t']}s worst p99 {worst} ms, errors {errors}, {window['sample']}")
    finally:
        peers.stop(proc)
        shutil.rmtree(data_dir, ignore_errors=True)
    text, ok = report(args, mix, windows)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
