"""The gateway benchmark (issue 4): throughput, latency, hot swap and ledger, on one machine.

Sets up a throw-away project in a temporary folder (a LightGBM regressor on 24 numeric
features registered twice, a short energy simulation with its price models), then measures:

- single-row throughput and p50/p99 latency at 8 connections (``wrk -t1 -c8 -d10s``) of the
  same registered LightGBM model behind ``mlflow models serve`` and behind ``helio serve``
  ``/invocations``, and of the domain endpoint ``/v1/services/price-forecast/predict`` with
  the ledger on: ``domain`` is one question repeated (``domain.answers = "remembered"``: after
  the first, every answer comes from the gateway's memory);
- ``domain_uncached``: every market x horizons 1-48 x ``as_of`` on 29 different days, each
  question once (none from memory: ``computed`` and ``remembered`` are the gateway's counts);
  ``domain_publication``: every market x horizon asked at once over 8 connections right after
  a publication of new data (``ingest``, which materialises the online store);
- a hot swap under load: ``champion`` moved among five versions twenty times (every 2 s; a
  response's version must have held the alias within poll + 1.5 s of its sending) while 8
  keep-alive clients call ``/invocations``, checking every response's ``X-Model-Version``,
  counting the moves that loaded a version not in memory, and the ledger rows against the
  2xx responses;
- the ledger: predictions written per second, and predictions lost when the PostgreSQL
  ledger is cut off for 10 s under load (through a TCP proxy run by this script): refused,
  and black-holed (connections left open, nothing answered);
- ``workers``: /invocations with ``--workers 2`` against 1, beside the CPU wrk used;
- ``batching``: /invocations with micro-batching on and off at 1, 8 and 64 connections;
- ``crash``: SIGKILL under load, with each of the ledger's durabilities (``journal``,
  ``window``, the default, and ``background``): acknowledged predictions missing after the
  restart against the promise, and what each costs.

    python benchmarks/gateway.py
    python benchmarks/gateway.py --only domain   # mlflow, invocations, domain keys only

One JSON line goes to standard output; progress goes to standard error. It needs ``wrk`` on
the PATH (or at /usr/bin/wrk) and, for the outage test, the PostgreSQL server of
``HELIO_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``); without it
that part is skipped and reported as such. It installs nothing. Every request goes to 127.0.0.1.
Its parts are in ``benchmarks/_gateway/`` (setup, servers, wrk, load generator, hot swap, TCP
proxy, ledger outage, throughput); this file runs them and prints the figures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _gateway._batching import batching
from _gateway._common import ENERGY, PG_DEFAULT, load_1m, log, versions
from _gateway._crash import crash
from _gateway._domain import domain
from _gateway._outage import ledger_outage
from _gateway._setup import setup_project
from _gateway._swap import hot_swap
from _gateway._throughput import throughput
from _gateway._workers import workers_ratio


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
    parser.add_argument(
        "--only",
        choices=["domain"],
        help="run only these keys (domain: mlflow, invocations and domain for the ratios, then"
        " domain_uncached and domain_publication) and print them, without the goals of the rest",
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
        diagnostics = not args.no_diagnostics and args.only is None
        runs = throughput(setup, workdir, args.seconds, diagnostics)
        runs.update(domain(setup, workdir, args.seconds))
        if args.only == "domain":
            print(json.dumps(_domain_only(runs, setup_s, began), default=str), flush=True)
            return 0
        workers = workers_ratio(setup, workdir, args.seconds)
        batched = batching(setup, workdir, args.seconds)
        crashed = crash(setup, workdir, args.seconds)
        swap = hot_swap(setup, workdir)
        outage = ledger_outage(setup, workdir, args.postgres)
        blackhole = ledger_outage(setup, workdir, args.postgres, mode="blackhole")
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
    out["domain.answers"] = "remembered"  # one question repeated: from memory after the first
    for name in ("domain_uncached", "domain_publication"):
        for key, value in runs[name].items():
            out[f"{name}.{key}"] = value
    uncached = runs["domain_uncached"]
    out["ratio_domain_uncached"] = round(uncached["rps"] / mlflow_rps, 2)
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
    for key, value in blackhole.items():
        out[f"ledger.blackhole.{key}"] = value
    for name, figures in (("workers", workers), ("batching", batched), ("crash", crashed)):
        for key, value in figures.items():
            out[f"{name}.{key}"] = value
    ledger_ok = [runs[n].get("ledger_missing") for n in ("invocations", "domain") if n in runs] + [
        swap["ledger_missing"]
    ]
    out["goals"] = {
        "invocations_20x_mlflow": out["ratio_invocations"] >= 20,
        "invocations_p99_le_15ms": (runs["invocations"].get("p99_ms") or math.inf) <= 15,
        "domain_10x_mlflow": out["ratio_domain"] >= 10,
        "domain_uncached_p50_le_5ms": (uncached.get("p50_ms") or math.inf) <= 5,
        "domain_uncached_p99_le_25ms": (uncached.get("p99_ms") or math.inf) <= 25,
        "domain_uncached_5x_mlflow": out["ratio_domain_uncached"] >= 5,
        "domain_uncached_none_remembered": uncached["remembered"] == 0,
        "domain_publication_le_1s": runs["domain_publication"]["seconds"] <= 1
        and runs["domain_publication"]["non_2xx"] == 0,
        "swap_zero_non_2xx": swap["non_2xx"] == 0 and swap["client_errors"] == 0,
        "swap_zero_mismatched": swap["mismatched"] == 0,
        "ledger_zero_lost": outage.get("lost") == 0 if "lost" in outage else None,
        "ledger_blackhole_zero_lost": blackhole.get("lost") == 0 if "lost" in blackhole else None,
        # wrk leaves up to one request per connection per run uncounted: rows may exceed 2xx
        "ledger_rows_match_2xx": all(m is not None and -16 <= m <= 0 for m in ledger_ok)
        and swap["ledger_missing"] == 0,
        "swap_5_moves_load_new": swap["moves_loading_new"] >= 5,
        "ledger_rows_match_2xx_workers_batching": all(
            figures.get(key) is True
            for figures, key in (
                (workers, "w1.ledger_ok"),
                (workers, "w2.ledger_ok"),
                (batched, "off.ledger_ok"),
                (batched, "on.ledger_ok"),
            )
        ),
        "crash_journal_zero_missing": crashed["journal.missing"] == 0,
        "crash_window_within_promise": crashed["window.kept_promise"],
        "batching_not_worse_p99_c1": (batched["c1.on.p99_ms"] or math.inf)
        <= 1.2 * (batched["c1.off.p99_ms"] or 0) + 0.5,
    }
    out["total_s"] = round(time.monotonic() - began, 1)
    print(json.dumps(out, default=str), flush=True)
    return 0


def _domain_only(runs: dict[str, Any], setup_s: float, began: float) -> dict[str, Any]:
    """The figures of ``--only domain``: the domain keys and their goals."""
    mlflow_rps = runs["mlflow"]["rps"]
    out: dict[str, Any] = {
        "benchmark": "gateway",
        "only": "domain",
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": {"cores": os.cpu_count(), "load_1m_at_end": load_1m()},
        "setup_s": round(setup_s, 1),
        "mlflow.rps": mlflow_rps,
        "invocations.rps": runs["invocations"]["rps"],
        "domain.rps": runs["domain"]["rps"],
        "domain.answers": "remembered",
    }
    for name in ("domain_uncached", "domain_publication"):
        for key, value in runs[name].items():
            out[f"{name}.{key}"] = value
    uncached = runs["domain_uncached"]
    out["ratio_domain_uncached"] = round(uncached["rps"] / mlflow_rps, 2)
    out["goals"] = {
        "domain_uncached_p50_le_5ms": (uncached.get("p50_ms") or math.inf) <= 5,
        "domain_uncached_p99_le_25ms": (uncached.get("p99_ms") or math.inf) <= 25,
        "domain_uncached_5x_mlflow": out["ratio_domain_uncached"] >= 5,
        "domain_uncached_none_remembered": uncached["remembered"] == 0,
        "domain_publication_le_1s": runs["domain_publication"]["seconds"] <= 1
        and runs["domain_publication"]["non_2xx"] == 0,
    }
    out["total_s"] = round(time.monotonic() - began, 1)
    return out


if __name__ == "__main__":
    sys.exit(main())
