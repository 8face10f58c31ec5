"""The domain endpoint as clients ask it: questions never asked before, and a publication.

- ``domain_uncached``: every market x horizons 1-48 x ``as_of`` on many different days (a
  different half-hour slot of the online store's retention in each request), each question
  asked once, so that none can come from the gateway's memory; ``wrk -t1 -c8``. ``computed``
  and ``remembered`` are the gateway's own counts (``helio_answers`` in ``/metrics``) over
  the measured run.
- ``domain_publication``: the answers to every market x horizon as of a moment are computed
  and remembered; then new data is published (``ingest``, which materialises the online
  store) and the same questions are asked at once over 8 connections: seconds until all are
  answered, and how many were computed (all of them should be: the new data changes them).

Both report the server's CPU (``server_cpu_ms_per_answer``, ``server_cpu_s``): on a loaded
machine the server gets a fraction of a core, and its CPU per answer is what a change moves.
"""

from __future__ import annotations

import http.client
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ._common import HOST, load_1m, log
from ._servers import helio_command, helio_env, serving
from ._wrk import run_wrk

PATH = "/v1/services/price-forecast/predict"
RETENTION_DAYS = 30  # days of as_of the store keeps for the benchmark
FIRST_DAY = datetime(2025, 3, 2, tzinfo=UTC)  # the first whole day of as_of asked
DAYS = 29  # 2 to 30 March: inside the retention as of 31 March 12:00
PUBLISHED_AT = datetime(2025, 4, 1, 12, tzinfo=UTC)  # the publication's moment


def _uncached_script(workdir: Path, name: str, offset: int, markets: list[str]) -> Path:
    """Requests numbered from ``offset``: request n asks horizon ``n // slots % 48 + 1``,
    market ``n % markets``, as of slot ``(n * 7919) % slots`` (a half-hour slot of the
    retention, 7 minutes past it): no two of ``slots * 48 * markets`` requests alike."""
    slots = DAYS * 48
    quoted = ",".join(f'"{m}"' for m in markets)
    path = workdir / f"{name}.lua"
    path.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"local markets = {{{quoted}}}\n"
        f"local n = {offset}\n"
        "request = function()\n"
        f"  local slot = (n * 7919) % {slots}\n"
        f"  local horizon = math.floor(n / {slots}) % 48 + 1\n"
        "  local market = markets[(n % #markets) + 1]\n"
        f"  local day = {FIRST_DAY.day} + math.floor(slot / 48)\n"
        "  local hour = math.floor((slot % 48) / 2)\n"
        "  local minute = (slot % 2) * 30 + 7\n"
        "  n = n + 1\n"
        "  local body = string.format("
        '\'{"market":"%s","as_of":"2025-03-%02dT%02d:%02d:00Z","horizon_hours":%d}\', '
        "market, day, hour, minute, horizon)\n"
        "  return wrk.format(nil, nil, nil, body)\n"
        "end\n"
    )
    return path


def answers(base: str) -> dict[str, float]:
    """The gateway's counts of computed and remembered answers (``/metrics``)."""
    conn = http.client.HTTPConnection(HOST, int(base.rsplit(":", 1)[1]), timeout=10)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    found = dict(re.findall(r'^helio_answers\{how="(\w+)"\} ([\d.e+]+)$', text, re.M))
    return {how: float(found.get(how, 0)) for how in ("computed", "remembered")}


def _retained(project: Any) -> Any:
    """The project with RETENTION_DAYS of retention, its store materialised to match."""
    from heliograph.jobs import materialize

    settings = project.settings
    store = settings.online_store.model_copy(update={"retention_days": float(RETENTION_DAYS)})
    project.settings = settings.model_copy(update={"online_store": store})
    started = time.perf_counter()
    outcomes = materialize(project)
    log(
        f"materialised {RETENTION_DAYS} days in {time.perf_counter() - started:.1f} s: "
        + "; ".join(o.summary() for o in outcomes)
    )
    return project


def _ask(port: int, bodies: list[dict[str, Any]], connections: int = 8) -> list[tuple[int, str]]:
    """Every body once, over ``connections`` keep-alive connections at the same time."""
    chunks = [bodies[i::connections] for i in range(connections)]

    def run(chunk: list[dict[str, Any]]) -> list[tuple[int, str]]:
        conn = http.client.HTTPConnection(HOST, port, timeout=120)
        out = []
        try:
            for body in chunk:
                conn.request("POST", PATH, json.dumps(body), {"Content-Type": "application/json"})
                answer = conn.getresponse()
                answer.read()
                out.append((answer.status, answer.getheader("X-Answer") or ""))
        finally:
            conn.close()
        return out

    with ThreadPoolExecutor(connections) as pool:
        return [r for part in pool.map(run, chunks) for r in part]


def domain(setup: dict[str, Any], workdir: Path, seconds: float) -> dict[str, dict[str, Any]]:
    """``domain_uncached`` and ``domain_publication`` against one ``helio serve``."""
    from heliograph.core import FixedClock
    from heliograph.jobs import ingest

    project = _retained(setup["project"])
    markets = list(setup.get("markets", ["GB"]))
    env = helio_env(project, HELIO_ONLINE_STORE__RETENTION_DAYS=str(RETENTION_DAYS))
    figures: dict[str, dict[str, Any]] = {}
    with serving("helio-domain-uncached", helio_command(project), env, workdir, "/readyz") as srv:
        url = f"{srv.base}{PATH}"
        run_wrk(url, _uncached_script(workdir, "uncached_warm", 60_000, markets), 2)
        load = load_1m()
        before, cpu = answers(srv.base), srv.cpu_seconds()
        figures_u = run_wrk(url, _uncached_script(workdir, "uncached", 0, markets), seconds)
        cpu, after = srv.cpu_seconds() - cpu, answers(srv.base)
        figures_u["computed"] = int(after["computed"] - before["computed"])
        figures_u["remembered"] = int(after["remembered"] - before["remembered"])
        # the server's CPU per answer: what a loaded machine's share of a core does not change
        figures_u["server_cpu_ms_per_answer"] = round(1000 * cpu / max(figures_u["computed"], 1), 2)
        figures_u["questions_distinct"] = DAYS * 48 * 48 * len(markets)
        figures_u["markets"] = len(markets)
        figures_u["load_1m_before"] = load
        figures["domain_uncached"] = figures_u
        log(
            f"domain_uncached: {figures_u['rps']:.0f} req/s, p50 {figures_u.get('p50_ms')} ms, "
            f"p99 {figures_u.get('p99_ms')} ms, computed {figures_u['computed']}, remembered "
            f"{figures_u['remembered']}, non-2xx {figures_u['non_2xx']} (load before {load})"
        )

        # a publication: the answers as of PUBLISHED_AT are remembered from the old state,
        # then the day's forecasts (09:00) and auction (11:00) are published and materialised
        bodies = [
            {"market": m, "as_of": PUBLISHED_AT.isoformat(), "horizon_hours": h}
            for m in markets
            for h in range(1, 49)
        ]
        primed = _ask(srv.port, bodies)
        again = _ask(srv.port, bodies)
        started = time.perf_counter()
        outcome = ingest(project.with_clock(FixedClock(PUBLISHED_AT)))
        ingest_s = time.perf_counter() - started
        load = load_1m()
        started, cpu = time.perf_counter(), srv.cpu_seconds()
        published = _ask(srv.port, bodies)
        answered_s, cpu = time.perf_counter() - started, srv.cpu_seconds() - cpu
        figures["domain_publication"] = {
            "questions": len(bodies),
            "connections": 8,
            "seconds": round(answered_s, 3),
            "server_cpu_s": round(cpu, 3),
            "computed": sum(1 for _, how in published if how == "computed"),
            "remembered": sum(1 for _, how in published if how == "remembered"),
            "non_2xx": sum(1 for status, _ in published if status != 200),
            "before_remembered": sum(1 for _, how in again if how == "remembered"),
            "before_non_2xx": sum(1 for status, _ in primed + again if status != 200),
            "ingest_and_materialize_s": round(ingest_s, 2),
            "materialized": "; ".join(m.summary() for m in outcome.materialized)
            or "; ".join(outcome.materialize_errors),
            "load_1m_before": load,
        }
        log(f"domain_publication: {figures['domain_publication']}")
    return figures
