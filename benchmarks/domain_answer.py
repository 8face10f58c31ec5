"""CPU per uncached domain answer, in process, per model family and stage.

Builds a small energy project (GB simulated from ``--start``, ingested up to a fixed now,
its online store keeping 30 days as the gateway benchmark's does), trains and registers one
version of each model family, then asks the price-forecast service ``--questions`` distinct
questions (a new ``as_of`` within the last 29 days, inside the store's retention, and a new
horizon each), as the gateway does for a question it has not answered before: features from
the online store, the model's inputs, the prediction (no memory of earlier answers), the
response. CPU time (``time.process_time``) is summed per stage.

    python benchmarks/domain_answer.py --questions 200
    python benchmarks/domain_answer.py --smoke

One JSON line goes to standard output: per family ``cpu_us_per_answer`` and
``stages_us`` (features, inputs, predict, respond) and ``sources``: how many answers read
the online store and how many the lake (with the store's reason; a lake read costs ~100x).
There is no baseline in the same process
(the code before a change cannot run beside it): compare the figures of two runs on the same
machine, and read them with the load average printed beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

FAMILIES = ("lear", "gbm_quantile", "seasonal_naive")
NOW = datetime(2025, 3, 31, 12, tzinfo=UTC)
RETENTION_DAYS = 30  # as the gateway benchmark's store keeps (benchmarks/_gateway/_domain.py)
ASKED_DAYS = 29  # as_of up to this many days before NOW: inside the retention


def build(root: Path, start: str, families: tuple[str, ...]) -> Any:
    """The project, with version i + 1 of the GB model trained as ``families[i]``."""
    from heliograph.apps.energy import train_market
    from heliograph.core import FixedClock, init_project, load_app
    from heliograph.jobs import ingest, materialize, snapshot

    config = load_app("energy").config.replace('start = "2024-01-01"', f'start = "{start}"')
    config = config.replace('markets = ["GB", "DE", "FR"]', 'markets = ["GB"]')
    project = init_project(root, extra=config).with_clock(FixedClock(NOW))
    settings = project.settings  # the gateway benchmark's retention, so no question is older
    store = settings.online_store.model_copy(update={"retention_days": float(RETENTION_DAYS)})
    project.settings = settings.model_copy(update={"online_store": store})
    ingest(project)
    materialize(project)
    snapshot(project)
    for family in families:
        train_market(project, "GB", models=[family], backtest_days=7, train_days=60)
    return project


def measure(project: Any, version: str, questions: int, seed: int) -> dict[str, Any]:
    """CPU µs per answer and per stage over ``questions`` distinct questions."""
    from heliograph.apps.energy import model_name
    from heliograph.core import load_app
    from heliograph.registry import Registry
    from heliograph.serving import ServiceContext, load_version

    model = load_version(Registry(project), model_name("GB"), version)
    context = ServiceContext.open(project)
    (service,) = [s for s in load_app("energy").services() if s.name == "price-forecast"]
    rng = random.Random(seed)
    asked = [
        service.Request(
            market="GB",
            as_of=NOW - timedelta(minutes=rng.randrange(0, ASKED_DAYS * 24 * 60)),
            horizon_hours=rng.randrange(1, 49),
        )
        for _ in range(questions)
    ]
    stages = dict.fromkeys(("features", "inputs", "predict", "respond"), 0.0)
    sources: dict[str, int] = {}
    try:
        service.features(context, asked[0])  # warm: imports, first block decode
        for request in asked:
            t0 = time.process_time()
            features = service.features(context, request)
            t1 = time.process_time()
            where = features.source + (f" ({features.reason})" if features.reason else "")
            sources[where] = sources.get(where, 0) + 1
            inputs = model.inputs(features.rows)
            t2 = time.process_time()
            outputs = model.predict_frame(inputs)  # no memo: every question is new
            t3 = time.process_time()
            service.respond(request, features, outputs, model.version)
            t4 = time.process_time()
            for stage, took in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                stages[stage] += took
    finally:
        context.store.close()
    total = sum(stages.values())
    return {
        "version": version,
        "cpu_us_per_answer": round(total / questions * 1e6),
        "stages_us": {k: round(v / questions * 1e6) for k, v in stages.items()},
        "sources": sources,  # online store or lake: a lake read costs far more
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--start", default="2025-01-01", help="first simulated day")
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--smoke", action="store_true", help="a tiny run: seasonal_naive, 5")
    args = parser.parse_args(argv)
    families = tuple(args.families)
    questions = args.questions
    if args.smoke:
        families, questions = ("seasonal_naive",), 5
    os.environ.setdefault("HELIO_PROGRESS", "0")
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        project = build(Path(tmp) / "project", args.start, families)
        built = time.perf_counter() - started
        out: dict[str, Any] = {
            "benchmark": "domain_answer",
            "questions": questions,
            "build_seconds": round(built, 1),
            "load_average_1m": round(os.getloadavg()[0], 2),
        }
        for i, family in enumerate(families):
            out[family] = measure(project, str(i + 1), questions, args.seed)
        out["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
