#!/usr/bin/env python3
"""Nimbus beside its peers (moto server, LocalStack in host mode): the same scenarios, driven by
the same client (`nimbus-loadgen`), in alternating rounds, on 127.0.0.1 only.

    bench/peers.py --build --install          # build, install the peers, run everything (< 15 min)
    bench/peers.py --quick                    # one short round (about 2 minutes)
    bench/peers.py --scenarios iam-get-role --servers nimbus,moto

Each round starts every server in turn (rotating the order from round to round, so drift and
background noise spread over all of them), measures startup to ready (Nimbus: its `Ready.`
line; peers: the first HTTP 200 of their health endpoint) and idle RSS, primes each scenario
with one untimed request (LocalStack loads a service on its first request: that time is
reported as "first request"), runs each scenario, reads the RSS after the load, and stops the
server. Figures are the median over the rounds. A scenario a server cannot serve is reported
as "n/a (reason)", and so is a server that cannot be installed or started.

RSS is VmRSS summed over the server's process tree, from /proc. Everything this script starts
runs in its own process group and is killed when the script exits, also on Ctrl-C.

Python 3 standard library only. `--install` creates the peers' virtual environments under
/var/tmp (moto with Python 3.11, LocalStack with 3.12+ from pyenv) with pip.
"""

import argparse
import datetime
import glob
import json
import os
import platform
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MOTO_VENV = os.environ.get("NIMBUS_BENCH_MOTO_VENV", "/var/tmp/nimbus-bench-moto")
LOCALSTACK_VENV = os.environ.get("NIMBUS_BENCH_LOCALSTACK_VENV", "/var/tmp/nimbus-bench-localstack")
LOCALSTACK_VERSION = "2026.3.0"
# localstack-core 2026.3.0 resolves versions of these that do not work together here.
LOCALSTACK_PINS = ["cbor2<6", "pyopenssl==24.3.0", "cryptography<45", "service_identity"]
DEFAULT_SCENARIOS = [
    "health",
    "sts-get-caller-identity",
    "iam-get-role",
    "iam-create-delete-role",
    "s3-put",
    "s3-get",
    "dynamodb-put",
    "dynamodb-get",
    "dynamodb-query",
    "sqs-send",
    "sqs-receive",
    "sqs-delete",
    "sns-publish",
    "events-put",
    "lambda-invoke",
    "apigw-lambda",
]
# Scenarios that run functions: the peers need Docker for that, which these machines lack.
FUNCTION_SCENARIOS = {"lambda-invoke", "apigw-lambda"}
DEFAULT_SERVERS = ["nimbus", "nimbus-sqlite", "moto", "localstack"]

# Processes this script started (pid -> name), killed on any exit.
RUNNING = {}


def log(message):
    print(f"[peers] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Processes


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port():
    """A loopback port nothing listens on: a free one, released again."""
    return free_port()


def spawn(name, args, env, stdout, stderr, cwd=None):
    proc = subprocess.Popen(
        args, env=env, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, cwd=cwd, start_new_session=True
    )
    RUNNING[proc.pid] = (name, proc)
    return proc


def stop(proc, grace=15.0):
    """SIGTERM to the process group this script created, SIGKILL after `grace` seconds."""
    if proc.pid not in RUNNING:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        log(f"process {proc.pid} did not die")
    RUNNING.pop(proc.pid, None)


def stop_all():
    for _pid, (_name, proc) in list(RUNNING.items()):
        stop(proc, grace=3.0)


def on_signal(signum, _frame):
    log(f"signal {signum}: stopping what this script started")
    stop_all()
    sys.exit(128 + signum)


def tree_rss_mib(pid):
    """VmRSS of `pid` and all its descendants, in MiB."""
    parents = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                text = f.read()
        except OSError:
            continue
        # The command name may contain spaces and parentheses; the fields follow the last ')'.
        fields = text[text.rfind(")") + 2 :].split()
        parents.setdefault(int(fields[1]), []).append(int(stat.split("/")[2]))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(parents.get(p, []))
    total_kib = 0
    for p in tree:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total_kib += int(line.split()[1])
        except OSError:
            pass
    return total_kib / 1024


def http_status(url, timeout=1.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (OSError, ValueError):
        return None


def tail(path, lines=8):
    try:
        with open(path, errors="replace") as f:
            return [l.rstrip() for l in f.readlines()[-lines:]]
    except OSError:
        return []


# ---------------------------------------------------------------------------------------------
# Servers


class Unavailable(Exception):
    """A server that cannot be installed or started here; the message is the reason."""


class Server:
    name = "?"
    health_path = None  # for the `health` scenario; None: the server has none
    ready_timeout = 60.0

    def __init__(self, args, workdir):
        self.args = args
        self.workdir = workdir
        self.proc = None
        self.port = None
        self.log_path = None

    def unsupported(self, scenario):
        """Why this server cannot run `scenario`, or None."""
        if scenario == "health" and self.health_path is None:
            return f"{self.name} has no health endpoint"
        return None

    def check(self):
        """Raises Unavailable if the server is not installed."""

    def version(self):
        return "?"

    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        """Starts the server; returns seconds from spawn to ready."""
        raise NotImplementedError

    def stop(self):
        if self.proc is not None:
            stop(self.proc)
            self.proc = None

    def wait_http(self, t0, path):
        deadline = t0 + self.ready_timeout
        url = self.endpoint() + path
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Unavailable(self.died())
            if http_status(url, timeout=1.0) == 200:
                return time.monotonic() - t0
            time.sleep(0.01)
        reason = f"not ready after {self.ready_timeout:.0f} s; last log lines: " + " | ".join(tail(self.log_path, 4))
        self.stop()
        raise Unavailable(reason)

    def died(self):
        code = self.proc.returncode
        self.proc = None
        lines = [l for l in tail(self.log_path, 30) if l.strip()]
        errors = [l for l in lines if "error" in l.lower() or "exception" in l.lower()] or lines[-3:]
        return f"exited with {code}: " + " | ".join(errors[-3:])


class Nimbus(Server):
    name = "nimbus"
    health_path = "/_nimbus/health"
    ready_timeout = 20.0
    extra = ["--ephemeral"]

    def check(self):
        if not os.access(self.args.nimbus, os.X_OK):
            raise Unavailable(f"no binary at {self.args.nimbus} (build it: --build)")

    def version(self):
        out = subprocess.run([self.args.nimbus, "--version"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip()

    def start(self):
        self.port = free_port()
        self.log_path = os.path.join(self.workdir, f"{self.name}.log")
        args = [self.args.nimbus, "serve", "--port", str(self.port)] + self.server_args() + self.args.nimbus_arg
        env = dict(os.environ, NIMBUS_LOG="warn")
        t0 = time.monotonic()
        with open(self.log_path, "ab") as err:
            self.proc = spawn(self.name, args, env, subprocess.PIPE, err)
        deadline = t0 + self.ready_timeout
        line = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            line = self.proc.stdout.readline()
            if line.strip() == b"Ready.":
                # Nothing else is printed on stdout; leave the pipe open but unread.
                return time.monotonic() - t0
            if not line:
                self.proc.wait(timeout=5)
                raise Unavailable(self.died())
        self.stop()
        raise Unavailable(f"no Ready. line after {self.ready_timeout:.0f} s (last: {line!r})")

    def server_args(self):
        return list(self.extra)


class NimbusDurable(Nimbus):
    """Nimbus with its default engine (SQLite, WAL, synchronous=FULL) in a temporary data dir."""

    name = "nimbus-sqlite"

    def server_args(self):
        data = tempfile.mkdtemp(prefix="nimbus-data-", dir=self.workdir)
        return ["--data-dir", data]


class Moto(Server):
    name = "moto"
    ready_path = "/moto-api/"  # its dashboard: moto has no health endpoint
    ready_timeout = 60.0

    def unsupported(self, scenario):
        if scenario in FUNCTION_SCENARIOS:
            return "moto runs functions only in Docker"
        return super().unsupported(scenario)

    def python(self):
        return os.path.join(MOTO_VENV, "bin", "python")

    def check(self):
        if not os.access(os.path.join(MOTO_VENV, "bin", "moto_server"), os.X_OK):
            raise Unavailable(f"not installed in {MOTO_VENV} (--install)")

    def version(self):
        return "moto " + pip_version(self.python(), "moto")

    def start(self):
        self.port = free_port()
        self.log_path = os.path.join(self.workdir, f"{self.name}.log")
        args = [os.path.join(MOTO_VENV, "bin", "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)]
        t0 = time.monotonic()
        with open(self.log_path, "ab") as out:
            self.proc = spawn(self.name, args, dict(os.environ), out, subprocess.STDOUT)
        return self.wait_http(t0, self.ready_path)


class LocalStack(Server):
    name = "localstack"
    health_path = "/_localstack/health"
    ready_timeout = 120.0

    def unsupported(self, scenario):
        if scenario in FUNCTION_SCENARIOS:
            return "LocalStack runs functions only in Docker"
        if scenario.startswith("dynamodb-"):
            return "LocalStack's DynamoDB needs DynamoDB Local (Java, downloaded at first use), which host mode here cannot fetch"
        return super().unsupported(scenario)

    def python(self):
        return os.path.join(LOCALSTACK_VENV, "bin", "python")

    def check(self):
        if not os.access(self.python(), os.X_OK) or pip_version(self.python(), "localstack-core") == "?":
            raise Unavailable(f"not installed in {LOCALSTACK_VENV} (--install)")

    def version(self):
        return "localstack-core " + pip_version(self.python(), "localstack-core")

    def start(self):
        self.port = free_port()
        self.log_path = os.path.join(self.workdir, f"{self.name}.log")
        state = tempfile.mkdtemp(prefix="localstack-", dir=self.workdir)
        os.makedirs(os.path.join(state, "tmp"))
        nowhere = f"http://127.0.0.1:{closed_port()}"
        env = dict(
            os.environ,
            GATEWAY_LISTEN=f"127.0.0.1:{self.port}",
            # Its default server (twisted) binds every interface; hypercorn binds what it is told.
            GATEWAY_SERVER="hypercorn",
            DNS_ADDRESS="0",
            SKIP_INFRA_DOWNLOADS="1",
            SKIP_SSL_CERT_DOWNLOAD="1",
            DISABLE_EVENTS="1",
            # /.dockerenv exists here: it would take itself for a container and use container paths.
            OVERRIDE_IN_DOCKER="0",
            FILESYSTEM_ROOT=os.path.join(state, "fs"),
            TMPDIR=os.path.join(state, "tmp"),
            # Anything it tries to download goes to a closed local port and fails at once.
            OUTBOUND_HTTP_PROXY=nowhere,
            OUTBOUND_HTTPS_PROXY=nowhere,
            HTTP_PROXY=nowhere,
            HTTPS_PROXY=nowhere,
            NO_PROXY="127.0.0.1,localhost",
        )
        t0 = time.monotonic()
        with open(self.log_path, "ab") as out:
            self.proc = spawn(
                self.name, [self.python(), "-m", "localstack.runtime.main"], env, out, subprocess.STDOUT, cwd=state
            )
        return self.wait_http(t0, self.health_path)


SERVERS = {"nimbus": Nimbus, "nimbus-sqlite": NimbusDurable, "moto": Moto, "localstack": LocalStack}


def pip_version(python, package):
    try:
        out = subprocess.run(
            [python, "-c", f"import importlib.metadata as m; print(m.version({package!r}))"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return out.stdout.strip() if out.returncode == 0 else "?"


# ---------------------------------------------------------------------------------------------
# Installation and build


def find_python(minimum, exact=False):
    """A pyenv (or PATH) python of version `minimum` ((major, minor)) or, unless `exact`, newer;
    the newest that fits."""
    candidates = sorted(glob.glob("/root/.pyenv/versions/3.*/bin/python3"), reverse=True)
    candidates += [shutil.which(f"python3.{m}") for m in range(20, minimum[1] - 1, -1)]
    best = None
    for c in filter(None, candidates):
        try:
            out = subprocess.run([c, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True, text=True)
            version = tuple(int(x) for x in out.stdout.split())
        except (OSError, ValueError):
            continue
        fits = version == minimum if exact else version >= minimum
        if fits and (best is None or version > best[0]):
            best = (version, c)
    return best[1] if best else None


def pip_install(venv, python, packages):
    if not os.access(os.path.join(venv, "bin", "python"), os.X_OK):
        if python is None:
            raise Unavailable("no suitable python to create " + venv)
        subprocess.run([python, "-m", "venv", venv], check=True, timeout=300)
    cmd = [os.path.join(venv, "bin", "pip"), "install", "--quiet", "--disable-pip-version-check"] + packages
    log(" ".join(cmd))
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise Unavailable("pip install failed: " + " | ".join(out.stderr.strip().splitlines()[-3:]))


def install(servers):
    """Installs the peers among `servers`; returns {name: reason} for those that failed."""
    failed = {}
    if "moto" in servers:
        try:
            pip_install(MOTO_VENV, find_python((3, 11), exact=True), ["moto[server]"])
        except (Unavailable, subprocess.SubprocessError, OSError) as e:
            failed["moto"] = str(e)
    if "localstack" in servers:
        # localstack-core 2026.3.0 needs Python 3.12 or newer; the `runtime` extra brings the
        # gateway (rolo, hypercorn) that host mode runs.
        packages = [f"localstack-core[runtime]=={LOCALSTACK_VERSION}"] + LOCALSTACK_PINS
        try:
            pip_install(LOCALSTACK_VENV, find_python((3, 12)), packages)
        except (Unavailable, subprocess.SubprocessError, OSError) as e:
            failed["localstack"] = str(e)
    for name, reason in failed.items():
        log(f"install {name}: {reason}")
    return failed


def build(target_dir):
    cmd = ["cargo", "build", "--release", "-p", "server", "-p", "loadgen"]
    log(f"CARGO_TARGET_DIR={target_dir} " + " ".join(cmd))
    subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, CARGO_TARGET_DIR=target_dir), check=True, timeout=1800)


# ---------------------------------------------------------------------------------------------
# Load


def loadgen(args, server, scenario, *extra, timeout=None):
    """Runs nimbus-loadgen once; returns its JSON result, or raises Unavailable with its reason."""
    cmd = [args.loadgen, "--endpoint", server.endpoint(), "--scenario", scenario, "--json", "--threads", "1"]
    cmd += ["--access-key", args.access_key]
    if server.health_path:
        cmd += ["--health-path", server.health_path]
    if args.keep_alive_header:
        cmd.append("--keep-alive-header")
    cmd += list(extra)
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Unavailable(f"loadgen did not finish in {timeout:.0f} s")
    if out.returncode != 0:
        lines = [l for l in out.stderr.strip().splitlines() if not l.startswith("nimbus-loadgen: note:")]
        raise Unavailable((lines[-1] if lines else f"loadgen exited {out.returncode}")[:300])
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(args, server, scenario):
    """Primes `scenario` with one request (its latency is the first-request time), then runs it."""
    prime = loadgen(
        args, server, scenario, "--requests", "1", "--warmup", "0s", "--concurrency", "1", timeout=args.prime_timeout
    )
    result = loadgen(
        args,
        server,
        scenario,
        "--concurrency",
        str(args.concurrency),
        "--warmup",
        args.warmup,
        "--duration",
        args.duration,
        # The cleanup of write scenarios is untimed but must end too.
        timeout=parse_seconds(args.warmup) + parse_seconds(args.duration) + 240,
    )
    result["first_ms"] = prime["max_ms"]
    return result


def parse_seconds(text):
    text = text.strip()
    for unit, factor in (("ms", 0.001), ("s", 1.0), ("m", 60.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)


# ---------------------------------------------------------------------------------------------
# Report


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, digits=1):
    if value is None:
        return "–"
    if digits == 0 or value >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def ratio(nimbus, peer):
    """Nimbus/peer: `172×` when Nimbus's figure is larger, `1/13` when it is smaller."""
    if nimbus is None or peer is None or peer == 0 or nimbus == 0:
        return "–"
    r = nimbus / peer
    if r >= 1:
        return f"{r:,.0f}×" if r >= 10 else f"{r:.1f}×"
    inverse = 1 / r
    return f"1/{inverse:,.0f}" if inverse >= 10 else f"1/{inverse:.1f}"


def cpu_snapshot():
    """(CPU-seconds the whole machine was busy, CPU-seconds of this script and its reaped children)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal: busy is all but idle, iowait and steal.
    # Interrupt time is billed to processes only in part, so the benchmark's own loopback
    # traffic shows up as a few percent of "other" use.
    busy = (sum(fields[:7]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")
    t = os.times()
    return busy, t.user + t.system + t.children_user + t.children_system


def other_cpu_seconds(before):
    """CPU-seconds used by processes this script did not start since `before`. Exact once
    every child has been reaped, which is when the report is written."""
    after = cpu_snapshot()
    if before is None or after is None:
        return None
    return max(0.0, (after[0] - before[0]) - (after[1] - before[1]))


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} cores ({model}), {mem} RAM, Linux {platform.release()}"


def report(args, servers, results, starts, versions, ceiling):
    scenarios = args.scenarios
    out = []
    out.append(f"Machine: {machine()}. Date: {datetime.date.today().isoformat()}.")
    others = other_cpu_seconds(args.cpu_before)
    if others is not None:
        wall = time.monotonic() - args.started
        share = others / wall / (os.cpu_count() or 1)
        out.append(
            f"Other processes used about {others:.0f} CPU-seconds during the {wall:.0f} s run ({share:.0%} of the "
            "machine, of which up to ~10% is interrupt time the benchmark itself causes): "
            + ("a quiet machine." if share < 0.15 else "**a busy machine, the figures are noisier than usual**.")
        )
    out.append("Servers: " + "; ".join(f"{s.name} = {versions.get(s.name, '?')}" for s in servers) + ".")
    out.append(
        f"Client: nimbus-loadgen, {args.concurrency} workers with one keep-alive connection each, "
        f"{args.warmup} warmup then {args.duration} timed, median of {args.rounds} round(s), servers alternating"
        + (", requests carry `Connection: keep-alive`." if args.keep_alive_header else ", requests exactly as SDKs send them.")
    )
    if ceiling:
        out.append(
            "Client ceiling (self-test, trivial hyper server, same machine): "
            + ", ".join(f"{r['ops_per_sec']:,.0f} ops/s at concurrency {r['concurrency']}" for r in ceiling)
            + "."
        )
    for s in servers:
        per_request = [
            r["reconnects"] / r["ok"]
            for (name, _), runs in results.items()
            if name == s.name
            for r in runs
            if isinstance(r, dict) and r.get("ok")
        ]
        if per_request and median(per_request) > 0.05:
            out.append(
                f"{s.name} closed the connection after {min(1.0, median(per_request)):.0%} of its requests; "
                "the client reconnected, as an SDK does, and those connects are in its figures."
            )
    if "iam-create-delete-role" in scenarios:
        out.append(
        "RSS after load is read after the last scenario; in iam-create-delete-role every role created in "
        "the warmup and timed phase is alive until the untimed cleanup, so a faster server holds more."
        )
    out = ["- " + line for line in out]
    out.append("")
    out.append(
        "| scenario | server | ops/s | p50 ms | p99 ms | first request ms | ops/s Nimbus/peer | p50 Nimbus/peer |"
    )
    out.append("|---|---|---:|---:|---:|---:|---:|---:|")
    for scenario in scenarios:
        figures = {}
        for s in servers:
            runs = results.get((s.name, scenario), [])
            ok = [r for r in runs if isinstance(r, dict)]
            if not ok:
                reasons = [r for r in runs if isinstance(r, str)]
                figures[s.name] = reasons[0] if reasons else "not run"
                continue
            figures[s.name] = {
                k: median([r[k] for r in ok]) for k in ("ops_per_sec", "p50_ms", "p99_ms", "first_ms")
            }
        base = figures.get("nimbus") if isinstance(figures.get("nimbus"), dict) else None
        for s in servers:
            f = figures[s.name]
            if isinstance(f, str):
                out.append(f"| {scenario} | {s.name} | n/a ({f}) | | | | | |")
                continue
            peer = not s.name.startswith("nimbus")
            ops_ratio = ratio(base["ops_per_sec"], f["ops_per_sec"]) if base and peer else ""
            p50_ratio = ratio(base["p50_ms"], f["p50_ms"]) if base and peer else ""
            out.append(
                f"| {scenario} | {s.name} | {fmt(f['ops_per_sec'], 0)} | {fmt(f['p50_ms'], 3)} | "
                f"{fmt(f['p99_ms'], 3)} | {fmt(f['first_ms'], 1)} | {ops_ratio} | {p50_ratio} |"
            )
    out.append("")
    out.append(
        "| server | startup to ready ms | idle RSS MiB | RSS after load MiB | startup Nimbus/peer "
        "| idle RSS Nimbus/peer | loaded RSS Nimbus/peer |"
    )
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    meds = {}
    for s in servers:
        ok = [x for x in starts.get(s.name, []) if isinstance(x, dict)]
        if ok:
            meds[s.name] = {k: median([x[k] for x in ok]) for k in ("startup_ms", "idle_mib", "loaded_mib")}
        else:
            reasons = [x for x in starts.get(s.name, []) if isinstance(x, str)]
            meds[s.name] = reasons[0] if reasons else "not run"
    base = meds.get("nimbus") if isinstance(meds.get("nimbus"), dict) else None
    for s in servers:
        m = meds[s.name]
        if isinstance(m, str):
            out.append(f"| {s.name} | n/a ({m}) | | | | | |")
            continue
        peer = not s.name.startswith("nimbus")
        r = lambda k: ratio(base[k], m[k]) if base and peer else ""  # noqa: E731
        out.append(
            f"| {s.name} | {fmt(m['startup_ms'], 1)} | {fmt(m['idle_mib'], 1)} | {fmt(m['loaded_mib'], 1)} | "
            f"{r('startup_ms')} | {r('idle_mib')} | {r('loaded_mib')} |"
        )
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# Main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    ap.add_argument("--nimbus", default=os.environ.get("NIMBUS_BIN", os.path.join(target, "release", "nimbus")))
    ap.add_argument("--loadgen", default=os.environ.get("NIMBUS_LOADGEN"), help="default: beside --nimbus")
    ap.add_argument("--scenarios", default=",".join(DEFAULT_SCENARIOS))
    ap.add_argument("--servers", default=",".join(DEFAULT_SERVERS), help="from: " + ", ".join(SERVERS))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--duration", default="4s", help="timed phase per run")
    ap.add_argument("--warmup", default="1s")
    ap.add_argument("--settle", type=float, default=2.0, help="seconds idle before reading idle RSS")
    ap.add_argument("--prime-timeout", type=float, default=60.0, help="limit for the first request")
    ap.add_argument("--budget", type=float, default=14 * 60, help="seconds; runs past it are skipped")
    ap.add_argument("--quick", action="store_true", help="one round, 2 s timed, 1 s warmup")
    ap.add_argument("--install", action="store_true", help="pip-install the peers into venvs under /var/tmp")
    ap.add_argument("--build", action="store_true", help="cargo build --release -p server -p loadgen first")
    ap.add_argument("--no-self-test", action="store_true", help="skip measuring the client's ceiling")
    ap.add_argument("--nimbus-arg", action="append", default=[], help="extra argument for nimbus serve")
    ap.add_argument(
        "--access-key",
        default="123456789012",
        help="the loadgen's access key; a 12-digit key is the account for Nimbus and LocalStack, and moto's only account is 123456789012, so the ARNs sns-publish and events-put name exist on every server",
    )
    ap.add_argument(
        "--no-keep-alive-header",
        dest="keep_alive_header",
        action="store_false",
        help="send requests exactly as SDKs do, without Connection: keep-alive (LocalStack then closes every connection)",
    )
    ap.add_argument("--out", help="also write the raw results as JSON here")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.duration, args.warmup, args.settle = 1, "2s", "1s", 1.0
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    names = [s for s in args.servers.split(",") if s]
    unknown = [n for n in names if n not in SERVERS]
    if unknown:
        ap.error(f"unknown servers {unknown}; known: {', '.join(SERVERS)}")
    if args.build:
        build(os.path.dirname(os.path.dirname(os.path.abspath(args.nimbus))))
    args.loadgen = args.loadgen or os.path.join(os.path.dirname(os.path.abspath(args.nimbus)), "nimbus-loadgen")
    if not os.access(args.loadgen, os.X_OK):
        ap.error(f"no nimbus-loadgen at {args.loadgen}: cargo build --release -p loadgen (or --build)")

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    started = time.monotonic()
    args.started, args.cpu_before = started, cpu_snapshot()
    workdir = tempfile.mkdtemp(prefix="nimbus-peers-")
    try:
        install_errors = install(names) if args.install else {}
        servers = [SERVERS[n](args, workdir) for n in names]
        results, starts, versions = {}, {}, {}
        usable = []
        for s in servers:
            try:
                s.check()
                versions[s.name] = s.version()
                usable.append(s)
            except Unavailable as e:
                reason = install_errors.get(s.name) or str(e)
                starts[s.name] = [reason]
                for scenario in args.scenarios:
                    results[(s.name, scenario)] = [reason]
        ceiling = []
        if not args.no_self_test:
            log("self-test (the client's own ceiling)")
            out = subprocess.run(
                [args.loadgen, "--self-test", "--json", "--threads", "1", "--duration", "2s", "--warmup", "500ms"],
                capture_output=True,
                text=True,
                timeout=60,
            )
            ceiling = [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]
        deadline = started + args.budget
        for round_no in range(args.rounds):
            # Rotate the order so each server goes first, second, … in turn.
            order = usable[round_no % len(usable) :] + usable[: round_no % len(usable)] if usable else []
            for s in order:
                if time.monotonic() > deadline:
                    log(f"time budget spent: skipping {s.name} in round {round_no + 1}")
                    continue
                run_server(args, s, round_no, results, starts, deadline)
        text = report(args, servers, results, starts, versions, ceiling)
        print(text)
        if args.out:
            with open(args.out, "w") as f:
                json.dump(
                    {
                        "machine": machine(),
                        "versions": versions,
                        "ceiling": ceiling,
                        "results": {f"{k[0]} {k[1]}": v for k, v in results.items()},
                        "starts": starts,
                    },
                    f,
                    indent=1,
                )
        log(f"done in {time.monotonic() - started:.0f} s; server logs in {workdir}")
    finally:
        stop_all()
        # Keep the servers' logs, drop their state (data dirs, LocalStack's filesystem root).
        for entry in os.listdir(workdir):
            path = os.path.join(workdir, entry)
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)


def run_server(args, server, round_no, results, starts, deadline):
    log(f"round {round_no + 1}: starting {server.name}")
    try:
        startup = server.start()
    except Unavailable as e:
        log(f"{server.name}: {e}")
        starts.setdefault(server.name, []).append(str(e))
        for scenario in args.scenarios:
            results.setdefault((server.name, scenario), []).append(f"did not start: {e}")
        return
    try:
        time.sleep(args.settle)
        idle = tree_rss_mib(server.proc.pid)
        for scenario in args.scenarios:
            key = (server.name, scenario)
            reason = server.unsupported(scenario)
            if reason is None and time.monotonic() > deadline:
                reason = "time budget spent"
            if reason is not None:
                results.setdefault(key, []).append(reason)
                continue
            try:
                r = measure(args, server, scenario)
                log(f"  {server.name} {scenario}: {r['ops_per_sec']:,.0f} ops/s, p50 {r['p50_ms']} ms")
                results.setdefault(key, []).append(r)
            except Unavailable as e:
                log(f"  {server.name} {scenario}: {e}")
                results.setdefault(key, []).append(str(e))
        loaded = tree_rss_mib(server.proc.pid)
        starts.setdefault(server.name, []).append(
            {"startup_ms": startup * 1000, "idle_mib": idle, "loaded_mib": loaded}
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
