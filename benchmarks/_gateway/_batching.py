"""Micro-batching of /invocations: the same server with batches of up to 64 rows and with
none (``max_batch_rows = 1``), at 1, 8 and 64 connections."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._common import log
from ._servers import helio_command, helio_env, serving
from ._workers import ledger_check, run_measured
from ._wrk import wrk_script

CONNECTIONS = (1, 8, 64)


def batching(setup: dict[str, Any], workdir: Path, seconds: float) -> dict[str, Any]:
    from heliograph.ledger import count_predictions

    project = setup["project"]
    script = wrk_script(workdir, "invocations", setup["body"])
    out: dict[str, Any] = {}
    for label, rows in (("off", "1"), ("on", "64")):
        env = helio_env(project, HELIO_GATEWAY__MAX_BATCH_ROWS=rows)
        before, measured = count_predictions(project.ledger_url, service="invocations"), []
        with serving(
            f"helio-batch-{label}", helio_command(project), env, workdir, "/readyz"
        ) as server:
            for connections in CONNECTIONS:
                figures = run_measured(server, script, seconds, connections)
                measured.append(figures)
                for key in ("rps", "p50_ms", "p99_ms", "non_2xx", "load_1m_before"):
                    out[f"c{connections}.{label}.{key}"] = figures.get(key)
                log(
                    f"batching {label}, {connections} connections: {figures['rps']:.0f} req/s, "
                    f"p50 {figures.get('p50_ms')} ms, p99 {figures.get('p99_ms')} ms"
                )
        stored = count_predictions(project.ledger_url, service="invocations") - before
        for key, value in ledger_check(stored, measured).items():
            out[f"{label}.{key}"] = value
    for connections in CONNECTIONS:
        on, off = out[f"c{connections}.on.rps"], out[f"c{connections}.off.rps"]
        out[f"c{connections}.ratio_rps"] = round(on / off, 2) if off else None
    return out
