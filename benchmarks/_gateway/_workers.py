"""``helio serve --workers 2`` against one worker: /invocations throughput, beside the CPU
the load generator (wrk) and the server used."""

from __future__ import annotations

import re
import resource
import time
import urllib.request
from pathlib import Path
from typing import Any

from ._common import load_1m, log
from ._servers import Server, helio_command, helio_env, serving
from ._wrk import run_wrk, wrk_script

CONNECTIONS = 16  # enough for two workers to have work at every moment


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, once it has exited
    return usage.ru_utime + usage.ru_stime


def wait_workers(server: Server, count: int, timeout: float = 180.0) -> None:
    """Until /metrics says ``count`` workers are live (each loaded and following)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(server.base + "/metrics", timeout=5) as answer:
                found = re.search(r"^helio_workers (\S+)$", answer.read().decode(), re.M)
            if found and float(found.group(1)) >= count:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{server.name}: not {count} workers after {timeout:.0f} s:\n{server.tail()}")


def run_measured(server: Server, script: Path, seconds: float, connections: int) -> dict[str, Any]:
    """One wrk run with the CPU cores wrk and the server used meanwhile."""
    url = server.base + "/invocations"
    warm = run_wrk(url, script, 2, connections=connections)
    load = load_1m()
    wrk_before, server_before, started = _children_cpu(), server.cpu_seconds(), time.monotonic()
    figures = run_wrk(url, script, seconds, connections=connections)
    elapsed = time.monotonic() - started
    figures["wrk_cpu_cores"] = round((_children_cpu() - wrk_before) / elapsed, 2)
    figures["server_cpu_cores"] = round((server.cpu_seconds() - server_before) / elapsed, 2)
    figures["load_1m_before"] = load
    figures["connections"] = connections
    figures["answered_2xx"] = figures["requests"] - figures["non_2xx"]
    figures["answered_2xx"] += warm["requests"] - warm["non_2xx"]  # the warm-up's are recorded
    return figures


def ledger_check(rows: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Rows in the ledger against the 2xx wrk counted, unclamped: wrk does not count the
    requests in flight when it stops (up to one per connection per run), so the difference
    may be negative by that much, never positive."""
    answered = sum(r["answered_2xx"] for r in runs)
    slack = sum(2 * r["connections"] for r in runs)  # warm-up and measured run
    return {"ledger_missing": answered - rows, "ledger_ok": -slack <= answered - rows <= 0}


def workers_ratio(setup: dict[str, Any], workdir: Path, seconds: float) -> dict[str, Any]:
    """/invocations at 16 connections with --workers 1 and --workers 2, one after the other."""
    project = setup["project"]
    script = wrk_script(workdir, "invocations", setup["body"])
    from heliograph.ledger import count_predictions

    runs: dict[int, dict[str, Any]] = {}
    out: dict[str, Any] = {}
    for count in (1, 2):
        before = count_predictions(project.ledger_url, service="invocations")
        command = helio_command(project, "--workers", str(count))
        with serving(
            f"helio-workers{count}", command, helio_env(project), workdir, "/readyz"
        ) as server:
            wait_workers(server, count)
            runs[count] = run_measured(server, script, seconds, CONNECTIONS)
            run = runs[count]
            log(
                f"workers {count}: {run['rps']:.0f} req/s, p99 {run.get('p99_ms')} ms, "
                f"server {run['server_cpu_cores']} cores, wrk {run['wrk_cpu_cores']}"
            )
        rows = count_predictions(project.ledger_url, service="invocations") - before
        for key, value in ledger_check(rows, [runs[count]]).items():
            out[f"w{count}.{key}"] = value
    out["ratio"] = round(runs[2]["rps"] / runs[1]["rps"], 2)
    for count, figures in runs.items():
        for key in ("rps", "p50_ms", "p99_ms", "non_2xx", "socket_errors", "wrk_cpu_cores"):
            out[f"w{count}.{key}"] = figures.get(key)
        out[f"w{count}.server_cpu_cores"] = figures["server_cpu_cores"]
        out[f"w{count}.load_1m_before"] = figures["load_1m_before"]
    out["connections"] = CONNECTIONS
    return out
