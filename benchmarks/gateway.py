"""The gateway benchmark (issue 4): throughput, latency, hot swap and ledger, on one machine.

Sets up a throw-away project in a temporary folder (a LightGBM regressor on 24 numeric
features registered twice, a short energy simulation with its price models), then measures:

- single-row throughput and p50/p99 latency at 8 connections (``wrk -t1 -c8 -d10s``) of the
  same registered LightGBM model behind ``mlflow models serve`` and behind ``helio serve``
  ``/invocations``, and of the domain endpoint ``/v1/services/price-forecast/predict`` with
  the ledger on;
- a hot swap under load: ``champion`` moved between versions 1 and 2 twenty times while 8
  keep-alive clients call ``/invocations``, checking every response's ``X-Model-Version``;
- the ledger: predictions written per second, and predictions lost when the PostgreSQL
  ledger is cut off for 10 s under load (through a TCP proxy run by this script).

    /work/venv/bin/python benchmarks/gateway.py

One JSON line goes to standard output; progress goes to standard error. It needs ``wrk`` on
the PATH (or at /usr/bin/wrk) and, for the outage test, the PostgreSQL server of
``HELIO_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``); without it
that part is skipped and reported as such. It installs nothing. Every request goes to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import re
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
LGBM = "bench-lgbm"
ENERGY = "energy-price-GB"
FEATURES = [f"f{i:02d}" for i in range(24)]
AS_OF = "2025-03-31T12:00:00Z"
DOMAIN_BODY = {"market": "GB", "as_of": AS_OF, "horizon_hours": 24}
SWAP_POLL = 0.5  # s, HELIO_GATEWAY__POLL_INTERVAL during the hot swap
SWAP_SLACK = 1.0  # s, added to the poll interval in the mismatch window
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
PYTHON = sys.executable
BIN = Path(sys.executable).parent


def log(message: str) -> None:
    print(f"[gateway-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def load_1m() -> float:
    return round(os.getloadavg()[0], 2)


# ---------------------------------------------------------------------------------------------
# setup: a project with two LightGBM versions and the energy price models


def setup_project(root: Path) -> dict[str, Any]:
    """The project: energy data and models (champion promoted), LightGBM v1 (champion), v2."""
    import lightgbm
    import mlflow.lightgbm
    import numpy as np
    import pandas as pd
    from lightgbm import LGBMRegressor
    from mlflow.models import infer_signature

    from heliograph.apps.energy import train_market
    from heliograph.core import FixedClock, init_project, load_app
    from heliograph.jobs import ingest, snapshot
    from heliograph.registry import Registry
    from heliograph.tracking import tracked_run

    config = load_app("energy").config
    config = config.replace('start = "2024-01-01"', 'start = "2025-01-01"')
    config = config.replace('end = "2025-12-31"', 'end = "2025-04-07"')
    config = config.replace('markets = ["GB", "DE", "FR"]', 'markets = ["GB"]')
    project = init_project(root, name="gateway-bench", extra=config)
    project.with_clock(FixedClock(datetime(2025, 3, 31, 12, tzinfo=UTC)))
    started = time.perf_counter()
    ingest(project)
    snapshot(project)
    log(f"energy data ingested ({time.perf_counter() - started:.1f} s); training GB")
    outcome = train_market(project, "GB", models=["seasonal_naive", "lear"], backtest_days=7)
    registry = Registry(project)
    decision = registry.promote(ENERGY, reason="benchmark")
    if not decision.accepted:
        raise SystemExit(f"cannot promote {ENERGY}: {decision.reasons}")
    log(f"{ENERGY} v{decision.candidate} ({outcome.best}) is champion")

    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(20_000, len(FEATURES))), columns=FEATURES)
    weights = rng.normal(size=len(FEATURES))
    y = x.to_numpy() @ weights + np.sin(3 * x["f00"]) * x["f01"] + rng.normal(0, 0.3, len(x))
    versions = []
    for seed in (1, 2):
        began = time.perf_counter()
        # one training thread: OpenMP over both cores is several times slower on a busy
        # machine; the logged model has the default n_jobs again, as a user's would
        model = LGBMRegressor(n_estimators=200, num_leaves=31, random_state=seed, verbose=-1)
        model.set_params(subsample=0.8, subsample_freq=1, colsample_bytree=0.8, n_jobs=1)
        model.fit(x, y)
        model.set_params(n_jobs=None)
        signature = infer_signature(x.head(100), model.predict(x.head(100)))
        with tracked_run(project, "bench-lgbm", f"lgbm-seed{seed}"):
            info = mlflow.lightgbm.log_model(
                model,
                name="model",
                signature=signature,
                input_example=x.head(5),
                pip_requirements=[f"lightgbm=={lightgbm.__version__}"],
            )
        versions.append(registry.register(LGBM, info.model_uri, reason=f"seed {seed}"))
        log(f"{LGBM} v{versions[-1]} trained and logged in {time.perf_counter() - began:.1f} s")
    if versions != ["1", "2"]:
        raise SystemExit(f"expected versions 1 and 2 of {LGBM}, got {versions}")
    # champion = 1; version 2 is not loaded anywhere until the first swap (no challenger)
    registry.client.set_registered_model_alias(LGBM, "champion", "1")
    registry.client.delete_registered_model_alias(LGBM, "challenger")
    row = x.iloc[[123]]
    return {
        "project": project,
        "registry": registry,
        "body": {"dataframe_split": {"columns": FEATURES, "data": row.to_numpy().tolist()}},
        "energy_version": decision.candidate,
        "energy_model": outcome.best,
    }


# ---------------------------------------------------------------------------------------------
# servers


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, path: str, timeout: float = 180.0) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited ({self.process.returncode}):\n{self.tail()}")
            try:
                with urllib.request.urlopen(self.base + path, timeout=2) as answer:
                    if answer.status == 200:
                        return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.25)
        self.stop()
        raise SystemExit(f"{self.name} not ready after {timeout:.0f} s:\n{self.tail()}")

    def stop(self, timeout: float = 90.0) -> tuple[int | None, float]:
        """SIGTERM and wait; (exit status, seconds it took)."""
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log(f"{self.name} ignored SIGTERM for {timeout:.0f} s: killing it")
                self.process.kill()
                self.process.wait()
        return self.process.returncode, time.monotonic() - started


def start_server(name: str, command: list[str], env: dict[str, str], workdir: Path) -> Server:
    port = free_port()
    command = [c.replace("{port}", str(port)) for c in command]
    log_path = workdir / f"{name}.log"
    out = log_path.open("wb")
    process = subprocess.Popen(
        command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    out.close()
    return Server(name, process, port, log_path)


@contextlib.contextmanager
def serving(
    name: str, command: list[str], env: dict[str, str], workdir: Path, ready: str
) -> Iterator[Server]:
    server = start_server(name, command, env, workdir)
    try:
        seconds = server.wait_ready(ready)
        log(f"{name} ready on port {server.port} after {seconds:.1f} s")
        yield server
    finally:
        status, seconds = server.stop()
        log(f"{name} stopped (exit status {status}) in {seconds:.1f} s")


def helio_env(project: Any, **overrides: str) -> dict[str, str]:
    env = {
        **os.environ,
        "HELIO_PROGRESS": "0",
        "HELIO_CLOCK__MODE": "real",
        "HELIO_GATEWAY__INVOCATIONS_MODEL": LGBM,
        "PYTHONWARNINGS": "ignore",
    }
    env.pop("HELIO_PROJECT", None)
    env.update(overrides)
    return env


def helio_command(project: Any) -> list[str]:
    helio = BIN / "helio"
    base = [str(helio)] if helio.exists() else [PYTHON, "-m", "heliograph.cli"]
    return [*base, "-p", str(project.root), "serve", "--host", HOST, "--port", "{port}"]


# ---------------------------------------------------------------------------------------------
# wrk

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not rps:
        raise ValueError(f"no Requests/sec in wrk's output:\n{output}")
    figures["rps"] = float(rps.group(1))
    for pct in ("50", "75", "90", "99"):
        found = re.search(rf"^\s+{pct}%\s+(\S+)\s*$", output, re.MULTILINE)
        if found:
            figures[f"p{pct}_ms"] = round(_ms(found.group(1)), 3)
    total = re.search(r"(\d+) requests in ([\d.]+)(\w+),", output)
    figures["requests"] = int(total.group(1)) if total else None
    figures["seconds"] = round(_ms(total.group(2) + total.group(3)) / 1000, 3) if total else None
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    figures["non_2xx"] = int(non2xx.group(1)) if non2xx else 0
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    figures["socket_errors"] = sum(int(g) for g in errors.groups()) if errors else 0
    return figures


def wrk_script(workdir: Path, name: str, body: dict[str, Any]) -> Path:
    path = workdir / f"{name}.lua"
    text = json.dumps(body, separators=(",", ":"))
    path.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = [==[{text}]==]\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    return path


def wrk_script_distinct(workdir: Path) -> Path:
    """The domain body with a different ``as_of`` (12:00:00 to 12:59:59) in each request, so
    that no two of 3,600 requests in a row ask the same question: the cost of answers the
    gateway cannot repeat from memory (their features are still shared)."""
    path = workdir / "domain_distinct.lua"
    path.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        "local n = 0\n"
        "request = function()\n"
        "  n = n + 1\n"
        "  local body = string.format("
        '\'{"market":"GB","as_of":"2025-03-31T12:%02d:%02dZ","horizon_hours":24}\', '
        "math.floor(n / 60) % 60, n % 60)\n"
        "  return wrk.format(nil, nil, nil, body)\n"
        "end\n"
    )
    return path


def run_wrk(url: str, script: Path, seconds: float, *, connections: int = 8) -> dict[str, Any]:
    wrk = shutil.which("wrk") or "/usr/bin/wrk"
    command = [wrk, "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    command += ["--timeout", "10s", "-s", str(script), url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stderr}{done.stdout}")
    return parse_wrk(done.stdout)


def measure(
    name: str, url: str, script: Path, seconds: float, around: Callable[[], int] | None = None
) -> dict[str, Any]:
    """2 s of warm-up, then the measured run; ``around`` counts ledger rows before and after."""
    warm = run_wrk(url, script, 2)
    load = load_1m()
    before = around() if around else 0
    started = time.monotonic()
    figures = run_wrk(url, script, seconds)
    elapsed = time.monotonic() - started
    if around:
        after = around()
        figures["ledger_rows_during"] = after - before
        figures["written_per_s"] = round((after - before) / elapsed, 1)
    figures["warmup_requests"] = warm["requests"]
    figures["warmup_non_2xx"] = warm["non_2xx"] + warm["socket_errors"]
    figures["load_1m_before"] = load
    log(
        f"{name}: {figures['rps']:.0f} req/s, p50 {figures.get('p50_ms')} ms, "
        f"p99 {figures.get('p99_ms')} ms, non-2xx {figures['non_2xx']}, "
        f"socket errors {figures['socket_errors']} (load before {load})"
    )
    return figures


# ---------------------------------------------------------------------------------------------
# a Python load generator that records every response


@dataclass
class Result:
    sent: float
    received: float
    status: int
    version: str | None


@dataclass
class LoadGenerator:
    port: int
    path: str
    body: bytes
    threads: int = 8
    results: list[list[Result]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def _run(self, out: list[Result]) -> None:
        headers = {"Content-Type": "application/json"}
        conn: http.client.HTTPConnection | None = None
        while not self._stop.is_set():
            if conn is None:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
            sent = time.monotonic()
            try:
                conn.request("POST", self.path, self.body, headers)
                answer = conn.getresponse()
                answer.read()
            except (OSError, http.client.HTTPException) as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                conn = None
                time.sleep(0.01)
                continue
            out.append(
                Result(sent, time.monotonic(), answer.status, answer.getheader("X-Model-Version"))
            )
        if conn is not None:
            conn.close()

    def start(self) -> LoadGenerator:
        for number in range(self.threads):
            out: list[Result] = []
            self.results.append(out)
            worker = threading.Thread(target=self._run, args=(out,), name=f"load-{number}")
            worker.start()
            self._workers.append(worker)
        return self

    def stop(self) -> list[Result]:
        self._stop.set()
        for worker in self._workers:
            worker.join(60)
        return sorted((r for out in self.results for r in out), key=lambda r: r.sent)


def latency_summary(results: list[Result]) -> dict[str, float | None]:
    if not results:
        return {"p50_ms": None, "p99_ms": None}
    latencies = sorted(1000 * (r.received - r.sent) for r in results)

    def pct(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, math.ceil(q * len(latencies)) - 1)], 3)

    return {"p50_ms": pct(0.50), "p99_ms": pct(0.99)}


# ---------------------------------------------------------------------------------------------
# hot swap


@dataclass
class Move:
    before: float  # monotonic time the alias call started
    after: float  # ... and returned (the alias is moved by then)
    version: str


def holds(moves: list[Move], first: str) -> list[tuple[float, float, str]]:
    """Intervals (start, end, version) in which each version may have held ``champion``:
    from the start of the call that gave it the alias to the end of the call that took it."""
    spans = []
    start, version = -math.inf, first
    for move in moves:
        spans.append((start, move.after, version))
        start, version = move.before, move.version
    spans.append((start, math.inf, version))
    return spans


def judge_swaps(
    results: list[Result], moves: list[Move], first: str, poll: float
) -> dict[str, Any]:
    spans = holds(moves, first)
    mismatched = []
    for r in results:
        if not 200 <= r.status < 300:
            continue
        low, high = r.sent - poll - SWAP_SLACK, r.received
        if not any(v == r.version and s <= high and e >= low for s, e, v in spans):
            mismatched.append(r)
    # stale: answered by the version that held the alias before the latest move at send time
    # (expected within a poll interval of each move; counted, not a failure)
    stale = 0
    for r in results:
        holder = first
        for move in moves:
            if move.after <= r.sent:
                holder = move.version
        stale += 200 <= r.status < 300 and r.version != holder
    switches, missed = [], 0
    for number, move in enumerate(moves):
        deadline = moves[number + 1].after if number + 1 < len(moves) else math.inf
        first_new = next(
            (r for r in results if r.sent >= move.after and r.version == move.version), None
        )
        if first_new is None or first_new.received > deadline:
            missed += 1
            continue
        switches.append(1000 * (first_new.received - move.after))
    return {
        "mismatched": len(mismatched),
        "mismatched_examples": [
            {"version": r.version, "sent": round(r.sent, 3), "received": round(r.received, 3)}
            for r in mismatched[:5]
        ],
        "switch_ms": round(statistics.median(switches), 1) if switches else None,
        "switch_max_ms": round(max(switches), 1) if switches else None,
        "first_switch_ms": round(switches[0], 1) if switches else None,
        "missed": missed,
        "stale": stale,
    }


def hot_swap(setup: dict[str, Any], workdir: Path, moves_wanted: int = 20) -> dict[str, Any]:
    project, registry = setup["project"], setup["registry"]
    env = helio_env(project, HELIO_GATEWAY__POLL_INTERVAL=str(SWAP_POLL))
    body = json.dumps(setup["body"]).encode()
    with serving("helio-swap", helio_command(project), env, workdir, "/readyz") as server:
        warm = LoadGenerator(server.port, "/invocations", body).start()
        time.sleep(2)
        warm.stop()
        log(f"hot swap: {moves_wanted} moves of champion every 0.75 s under load")
        load = load_1m()
        generator = LoadGenerator(server.port, "/invocations", body).start()
        time.sleep(1.0)
        moves: list[Move] = []
        started = time.monotonic()
        for number in range(moves_wanted):
            target = started + 0.75 * number
            time.sleep(max(0.0, target - time.monotonic()))
            version = "2" if number % 2 == 0 else "1"
            before = time.monotonic()
            registry.client.set_registered_model_alias(LGBM, "champion", version)
            moves.append(Move(before, time.monotonic(), version))
        time.sleep(2.0)
        results = generator.stop()
        duration = results[-1].received - results[0].sent if results else 0.0
    non_2xx = sum(1 for r in results if not 200 <= r.status < 300)
    judged = judge_swaps(results, moves, "1", SWAP_POLL)
    versions = sorted({r.version or "-" for r in results})
    figures = {
        "count": len(moves),
        "non_2xx": non_2xx,
        "client_errors": len(generator.errors),
        "requests": len(results),
        "rps": round(len(results) / duration, 1) if duration else None,
        "versions_seen": versions,
        "poll_interval_s": SWAP_POLL,
        "load_1m_before": load,
        **latency_summary(results),
        **judged,
    }
    log(
        f"hot swap: {len(results)} requests, non-2xx {non_2xx}, client errors "
        f"{len(generator.errors)}, mismatched {judged['mismatched']}, switch median "
        f"{judged['switch_ms']} ms (first {judged['first_switch_ms']} ms), "
        f"missed {judged['missed']}"
    )
    return figures


# ---------------------------------------------------------------------------------------------
# the ledger outage: a TCP proxy in front of PostgreSQL that can "stop the database"


class TcpProxy:
    """127.0.0.1:<port> → ``target``, one thread with a selector. ``down()`` closes every
    connection and the listening socket (new connections are refused); ``up()`` listens again
    on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._want_up = True
        self._selector = selectors.DefaultSelector()
        self._listener: socket.socket | None = None
        self._peers: dict[socket.socket, socket.socket] = {}
        self._stop = threading.Event()
        self._changed = threading.Event()
        self._listen()
        self._thread = threading.Thread(target=self._run, name="pg-proxy", daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._selector.register(listener, selectors.EVENT_READ)

    def _close(self, sock: socket.socket) -> None:
        peer = self._peers.pop(sock, None)
        for s in (sock, peer):
            if s is None:
                continue
            self._peers.pop(s, None)
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(s)
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def _reconcile(self) -> None:
        if not self._want_up and self._listener is not None:
            self._selector.unregister(self._listener)
            self._listener.close()
            self._listener = None
            for sock in list(self._peers):
                self._close(sock)
        elif self._want_up and self._listener is None:
            self._listen()
        self._changed.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._want_up != (self._listener is not None):
                self._reconcile()
            for key, _ in self._selector.select(timeout=0.05):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self._listener:
                    client, _ = sock.accept()
                    try:
                        upstream = socket.create_connection(self.target, timeout=5)
                    except OSError:
                        client.close()
                        continue
                    self._peers[client], self._peers[upstream] = upstream, client
                    for s in (client, upstream):
                        self._selector.register(s, selectors.EVENT_READ)
                    continue
                if sock not in self._peers:
                    continue
                try:
                    data = sock.recv(65536)
                    if data:
                        self._peers[sock].sendall(data)
                        continue
                except OSError:
                    pass
                self._close(sock)
        self._want_up = False
        self._reconcile()

    def _set(self, up: bool) -> None:
        self._changed.clear()
        self._want_up = up
        self._changed.wait(5)

    def down(self) -> None:
        self._set(False)

    def up(self) -> None:
        self._set(True)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://{HOST}:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    values = {}
    for name in ("spooled", "up", "written", "queue_depth"):
        found = re.search(rf"^helio_ledger_{name} (\S+)$", text, re.MULTILINE)
        if found:
            values[name] = float(found.group(1))
    return values


def ledger_outage(
    setup: dict[str, Any],
    workdir: Path,
    pg_url: str,
    *,
    load_s: float = 25.0,
    outage_s: float = 10.0,
) -> dict[str, Any]:
    import psycopg
    import sqlalchemy as sa

    from heliograph.ledger import count_predictions

    project = setup["project"]
    admin_url = sa.make_url(pg_url).set(drivername="postgresql")
    try:
        admin = psycopg.connect(admin_url.render_as_string(hide_password=False), autocommit=True)
    except psycopg.Error as exc:
        log(f"ledger outage skipped: no PostgreSQL at {pg_url}: {exc}")
        return {"skipped": f"no PostgreSQL at {pg_url}"}
    database = f"helio_bench_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{database}"')
    host, port = admin_url.host or HOST, admin_url.port or 5432
    proxy = TcpProxy((host, port))
    direct = admin_url.set(drivername="postgresql+psycopg", database=database)
    direct_url = direct.render_as_string(hide_password=False)
    via_proxy = direct.set(host=HOST, port=proxy.port).render_as_string(hide_password=False)
    spool = project.state_dir / "spool"
    leftovers = sorted(spool.glob("segment-*.jsonl")) if spool.exists() else []
    if leftovers:
        log(f"warning: {len(leftovers)} spool segments from earlier runs will be replayed too")
    env = helio_env(project, HELIO_LEDGER__URL=via_proxy)
    body = json.dumps(setup["body"]).encode()
    samples: list[dict[str, float]] = []
    try:
        with serving("helio-outage", helio_command(project), env, workdir, "/readyz") as server:
            stop_scraping = threading.Event()

            def scraper() -> None:
                while not stop_scraping.is_set():
                    with contextlib.suppress(OSError, ValueError):
                        samples.append({"t": time.monotonic(), **scrape(server.port)})
                    stop_scraping.wait(0.5)

            watcher = threading.Thread(target=scraper, name="metrics-scraper")
            watcher.start()
            log(f"outage: {load_s:.0f} s of load, the database stopped for {outage_s:.0f} s")
            load = load_1m()
            generator = LoadGenerator(server.port, "/invocations", body).start()
            started = time.monotonic()
            time.sleep((load_s - outage_s) / 2)
            proxy.down()
            went_down = time.monotonic()
            log("outage: database stopped (proxy refuses connections)")
            time.sleep(outage_s)
            proxy.up()
            came_back = time.monotonic()
            log("outage: database back")
            time.sleep(max(0.0, started + load_s - time.monotonic()))
            results = generator.stop()
            stop_scraping.set()
            watcher.join()
            final = scrape(server.port)
            log(f"outage: load stopped; gateway says {final}; SIGTERM")
        # the gateway has exited: everything it had is in the database or its spool
        rows = count_predictions(direct_url)
        left = sorted(spool.glob("segment-*.jsonl")) if spool.exists() else []
        left_lines = sum(p.read_bytes().count(b"\n") for p in left)
    finally:
        proxy.close()
        with contextlib.suppress(psycopg.Error):
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()
    ok = [r for r in results if 200 <= r.status < 300]
    during = [r for r in results if went_down <= r.sent <= came_back]
    spooled_max = max((s.get("spooled", 0.0) for s in samples), default=None)
    down_samples = [s["t"] for s in samples if s.get("up") == 0.0]
    emptied = [s["t"] for s in samples if s["t"] > came_back and s.get("spooled") == 0.0]
    figures = {
        "outage_s": round(came_back - went_down, 2),
        "responses_2xx": len(ok),
        "non_2xx": len(results) - len(ok),
        "client_errors": len(generator.errors),
        "rows": rows,
        "lost": len(ok) - rows,
        "left_in_spool": left_lines,
        "spooled_max": int(spooled_max) if spooled_max is not None else None,
        "db_seen_down_s": round(max(down_samples) - min(down_samples), 1) if down_samples else 0,
        "spool_empty_after_s": round(min(emptied) - came_back, 1) if emptied else None,
        "load_1m_before": load,
        "outage_p99_ms": latency_summary(during)["p99_ms"],
        **latency_summary(results),
    }
    log(
        f"outage: {len(ok)} answered 2xx, {rows} rows in PostgreSQL, lost {figures['lost']}, "
        f"spooled max {figures['spooled_max']}, left in spool {left_lines}"
    )
    return figures


# ---------------------------------------------------------------------------------------------
# main


def throughput(
    setup: dict[str, Any], workdir: Path, seconds: float, diagnostics: bool
) -> dict[str, Any]:
    """wrk against mlflow, helio /invocations and the domain endpoint (and, as a diagnosis,
    mlflow and /invocations again with OMP_NUM_THREADS=1, and the domain endpoint with a
    different as_of in every request)."""
    from heliograph.ledger import count_predictions

    project = setup["project"]
    figures: dict[str, Any] = {}
    invocations_script = wrk_script(workdir, "invocations", setup["body"])
    domain_script = wrk_script(workdir, "domain", DOMAIN_BODY)
    url = project.ledger_url

    def rows_of(service: str) -> Callable[[], int]:
        return lambda: count_predictions(url, service=service)

    def mlflow_run(name: str, **extra: str) -> None:
        env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": project.tracking_uri,
            "MLFLOW_REGISTRY_URI": project.tracking_uri,
            "PYTHONWARNINGS": "ignore",
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # it runs `uvicorn`
            **extra,
        }
        mlflow_bin = str(BIN / "mlflow") if (BIN / "mlflow").exists() else "mlflow"
        command = [mlflow_bin, "models", "serve", "-m", f"models:/{LGBM}@champion"]
        command += ["--env-manager", "local", "-h", HOST, "-p", "{port}"]
        with serving(name, command, env, workdir, "/ping") as server:
            figures[name] = measure(name, f"{server.base}/invocations", invocations_script, seconds)

    def helio_run(name: str, path: str, script: Path, service: str, **extra: str) -> None:
        before = rows_of(service)()
        env = helio_env(project, **extra)
        with serving(f"helio-{name}", helio_command(project), env, workdir, "/readyz") as server:
            figures[name] = measure(
                name, f"{server.base}{path}", script, seconds, around=rows_of(service)
            )
        # after SIGTERM every prediction must be in the ledger: compare with the 2xx answers
        # (wrk does not count requests still in flight when it stops: rows may exceed by ≤ 8)
        run = figures[name]
        answered = run["requests"] - run["non_2xx"] + run["warmup_requests"]
        answered -= run["warmup_non_2xx"]
        run["ledger_rows_total"] = rows_of(service)() - before
        run["ledger_missing"] = max(0, answered - run["ledger_rows_total"])

    mlflow_run("mlflow")
    helio_run("invocations", "/invocations", invocations_script, "invocations")
    helio_run("domain", "/v1/services/price-forecast/predict", domain_script, "price-forecast")
    if diagnostics:
        mlflow_run("mlflow_omp1", OMP_NUM_THREADS="1")
        helio_run(
            "invocations_omp1",
            "/invocations",
            invocations_script,
            "invocations",
            OMP_NUM_THREADS="1",
        )
        helio_run(
            "domain_distinct",
            "/v1/services/price-forecast/predict",
            wrk_script_distinct(workdir),
            "price-forecast",
        )
    return figures


def versions() -> dict[str, str]:
    from importlib.metadata import version

    found = {}
    for name in ("heliograph", "mlflow", "lightgbm", "fastapi", "uvicorn", "sqlalchemy"):
        with contextlib.suppress(Exception):
            found[name] = version(name)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="wrk run length")
    parser.add_argument("--keep", action="store_true", help="keep the temporary project")
    parser.add_argument(
        "--no-diagnostics",
        action="store_true",
        help="skip the extra runs of mlflow and /invocations with OMP_NUM_THREADS=1",
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("HELIO_TEST_POSTGRES_URL", PG_DEFAULT),
        help="PostgreSQL server for the outage test (a database is created and dropped)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("HELIO_PROGRESS", "0")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    warnings.filterwarnings("ignore")
    began = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="helio-gateway-bench-"))
    log(f"working in {workdir}; load average {os.getloadavg()}")
    try:
        started = time.perf_counter()
        setup = setup_project(workdir / "project")
        setup_s = time.perf_counter() - started
        log(f"setup done in {setup_s:.1f} s")
        runs = throughput(setup, workdir, args.seconds, not args.no_diagnostics)
        swap = hot_swap(setup, workdir)
        outage = ledger_outage(setup, workdir, args.postgres)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    mlflow_rps = runs["mlflow"]["rps"]
    out: dict[str, Any] = {
        "benchmark": "gateway",
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": {"cores": os.cpu_count(), "load_1m_at_end": load_1m()},
        "versions": versions(),
        "setup_s": round(setup_s, 1),
        "energy_champion": f"{ENERGY} v{setup['energy_version']} ({setup['energy_model']})",
    }
    for name in ("mlflow", "invocations", "domain"):
        for key, value in runs[name].items():
            out[f"{name}.{key}"] = value
    out["ratio_invocations"] = round(runs["invocations"]["rps"] / mlflow_rps, 2)
    out["ratio_domain"] = round(runs["domain"]["rps"] / mlflow_rps, 2)
    for name in ("mlflow_omp1", "invocations_omp1"):
        for key in ("rps", "p50_ms", "p99_ms", "non_2xx", "load_1m_before"):
            if name in runs:
                out[f"diag.{name}.{key}"] = runs[name].get(key)
    if "domain_distinct" in runs:
        for key in ("rps", "p50_ms", "p99_ms", "non_2xx", "load_1m_before", "ledger_missing"):
            out[f"diag.domain_distinct.{key}"] = runs["domain_distinct"].get(key)
        out["diag.ratio_domain_distinct"] = round(runs["domain_distinct"]["rps"] / mlflow_rps, 2)
    if "invocations_omp1" in runs:
        out["diag.ratio_invocations_omp1"] = round(
            runs["invocations_omp1"]["rps"] / runs["mlflow_omp1"]["rps"], 2
        )
    for key, value in swap.items():
        out[f"swap.{key}"] = value
    out["ledger.written_per_s"] = runs["invocations"].get("written_per_s")
    out["ledger.written_per_s_domain"] = runs["domain"].get("written_per_s")
    for key, value in outage.items():
        out[f"ledger.{key}"] = value
    out["goals"] = {
        "invocations_20x_mlflow": out["ratio_invocations"] >= 20,
        "invocations_p99_le_15ms": (runs["invocations"].get("p99_ms") or math.inf) <= 15,
        "domain_10x_mlflow": out["ratio_domain"] >= 10,
        "swap_zero_non_2xx": swap["non_2xx"] == 0 and swap["client_errors"] == 0,
        "swap_zero_mismatched": swap["mismatched"] == 0,
        "ledger_zero_lost": outage.get("lost") == 0 if "lost" in outage else None,
    }
    out["total_s"] = round(time.monotonic() - began, 1)
    print(json.dumps(out, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
