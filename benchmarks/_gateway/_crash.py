"""Durability on a crash: /invocations under load, the gateway SIGKILLed, restarted on the same
spool; how many predictions were acknowledged (2xx) and are not in the ledger, for each of the
ledger's durabilities against its promise: ``journal`` (none), ``window`` (those of the journal
commit in progress: milliseconds of load), ``background`` (about ``flush_interval``, 0.2 s, plus
one write). Also what each costs: /invocations at 1 and 8 connections."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path
from typing import Any

from ._common import LGBM, load_1m, log
from ._load import LoadGenerator
from ._servers import helio_command, helio_env, serving, start_server
from ._workers import run_measured
from ._wrk import wrk_script

PROMISE = {
    "journal": "no acknowledged prediction lost",
    "window": "those of the last 20 ms and the commit in progress (<= 100 ms of load here)",
    "background": "at most flush_interval (0.2 s) plus one write of them (<= 0.5 s here)",
}


def _drained(base: str, timeout: float = 120.0) -> bool:
    """Until the restarted gateway has nothing spooled or queued."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/metrics", timeout=5) as answer:
                text = answer.read().decode()
            values = [
                float(m.group(1))
                for name in ("spooled", "queue_depth")
                for m in [re.search(rf"^helio_ledger_{name} (\S+)$", text, re.M)]
                if m
            ]
            if len(values) == 2 and not any(values):
                return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def crash(
    setup: dict[str, Any], workdir: Path, seconds: float, load_s: float = 4.0
) -> dict[str, Any]:
    from heliograph.ledger import read_predictions

    project = setup["project"]
    body = json.dumps(setup["body"]).encode()
    script = wrk_script(workdir, "invocations", setup["body"])
    out: dict[str, Any] = {}
    for mode in ("journal", "window", "background"):
        url = f"sqlite:///{workdir / f'crash-{mode}.db'}"
        env = helio_env(project, HELIO_LEDGER__URL=url, HELIO_LEDGER__DURABILITY=mode)
        with serving(f"helio-{mode}", helio_command(project), env, workdir, "/readyz") as server:
            for connections in (1, 8):
                figures = run_measured(server, script, seconds, connections)
                for key in ("rps", "p50_ms", "p99_ms"):
                    out[f"{mode}.c{connections}.{key}"] = figures.get(key)
                log(
                    f"durability {mode}, {connections} connections: {figures['rps']:.0f} req/s, "
                    f"p50 {figures.get('p50_ms')} ms, p99 {figures.get('p99_ms')} ms"
                )
        before = {r.request_id for r in read_predictions(url, service="invocations", limit=10**7)}
        server = start_server(f"helio-{mode}-killed", helio_command(project), env, workdir)
        server.wait_ready("/readyz")
        load = load_1m()
        generator = LoadGenerator(server.port, "/invocations", body).start()
        time.sleep(load_s)
        server.kill()  # SIGKILL mid-load: no drain, no flush
        results = generator.stop()
        acked = {r.request_id for r in results if 200 <= r.status < 300}  # answered: promised
        log(f"durability {mode}: {len(acked)} acknowledged, then SIGKILL; restarting")
        with serving(
            f"helio-{mode}-restarted", helio_command(project), env, workdir, "/readyz"
        ) as again:
            drained = _drained(again.base)
        stored = {r.request_id for r in read_predictions(url, service="invocations", limit=10**7)}
        missing = len({a for a in acked if a} - stored - before)
        rps = len(acked) / load_s
        out[f"{mode}.acknowledged"] = len(acked)
        out[f"{mode}.missing"] = missing
        out[f"{mode}.missing_ms_of_load"] = round(1000 * missing / rps, 1) if rps else None
        out[f"{mode}.replayed_before_check"] = drained
        out[f"{mode}.load_1m_before"] = load
        out[f"{mode}.promise"] = PROMISE[mode]
        log(f"durability {mode}: {missing} of {len(acked)} acknowledged predictions missing")
    out["journal.kept_promise"] = out["journal.missing"] == 0
    out["window.kept_promise"] = (out["window.missing_ms_of_load"] or 0) <= 100
    out["background.kept_promise"] = (out["background.missing_ms_of_load"] or 0) <= 500
    out["model"] = LGBM
    return out
