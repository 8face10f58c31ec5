"""The compute engines against each other: the EPF protocol on local processes and on Ray.

Runs ``benchmarks/epf.py``'s protocol twice on the same market, days and models, once with
``--engine local`` and once with ``--engine ray`` (a Ray cluster of ``--jobs`` CPUs started
here, or the one at ``--address``), and reports: whether every model's MAE is the same to
1e-9 (the engines must not change results; computed from every hourly forecast, unrounded,
and the largest difference of any forecast), the wall time of each (the Ray cluster's start
apart), and what an engine costs per task: the same number of tasks as the backtests ran,
each doing nothing but receiving the backtests' feature frame, timed on a warm engine.

    python benchmarks/compute.py --data ../shared/data/epf/BE.csv --days 14

One JSON line on standard output; progress on standard error.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import epf
import orjson
import pandas as pd

from heliograph.compute import Engine, open_engine
from heliograph.core import ComputeSettings


@dataclass(frozen=True)
class _Nothing:
    """A task that receives the feature frame (as a backtest fold does) and does nothing."""

    features: pd.DataFrame

    def __call__(self, item: int) -> int:
        return item + len(self.features) * 0


def per_task_ms(engine: Engine, features: pd.DataFrame, tasks: int, repeats: int = 3) -> float:
    """The least wall time per task over ``repeats`` maps of ``tasks`` tasks doing nothing,
    times the engine's workers: what each task costs a worker besides its own work."""
    best = math.inf
    for _ in range(repeats):
        began = time.perf_counter()
        engine.map(_Nothing(features), range(tasks))
        best = min(best, time.perf_counter() - began)
    return 1000 * best * engine.workers / tasks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="compute.py", description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--recalibrate", choices=("daily", "weekly"), default="daily")
    parser.add_argument("--models", default="lear,gbm_quantile")
    parser.add_argument("--train-days", type=int, default=epf.PAPER_TRAIN_DAYS)
    parser.add_argument("--jobs", type=int, default=2, help="processes, or Ray CPUs")
    parser.add_argument("--address", default="", help="an existing Ray cluster")
    args = parser.parse_args(argv)
    common = [
        "--data", args.data, "--days", str(args.days), "--recalibrate", args.recalibrate,
        "--models", args.models, "--train-days", str(args.train_days), "--jobs", str(args.jobs),
    ]  # fmt: skip
    runs: dict[str, dict[str, Any]] = {}
    folder = Path(tempfile.mkdtemp(prefix="compute-"))
    saved = {name: folder / f"{name}.csv" for name in ("local", "ray")}
    startup = math.nan
    for name in ("local", "ray"):
        if name == "ray":  # the cluster's start, apart from the work
            began = time.perf_counter()
            cpus = open_engine(
                ComputeSettings(engine="ray", address=args.address, workers=args.jobs)
            ).workers
            startup = time.perf_counter() - began
            epf.log(f"ray: cluster of {cpus} CPUs up in {startup:.1f} s")
        extra = ["--address", args.address] if name == "ray" and args.address else []
        extra += ["--predictions", str(saved[name])]
        eparser, eargs = epf.parse_args([*common, "--engine", name, *extra])
        runs[name] = epf.run(eargs, eparser)
        epf.log(f"{name}: {runs[name]['wall_s']} s")
    local = runs["local"]["models"]
    # epf.py rounds its scores: compare the forecasts themselves, and their MAE unrounded
    forecasts = {n: pd.read_csv(path, parse_dates=["timestamp"]) for n, path in saved.items()}
    unrounded = {
        n: frame.assign(error=(frame["p50"] - frame["target"]).abs()).groupby("model")["error"]
        .mean().to_dict()
        for n, frame in forecasts.items()
    }  # fmt: skip
    diffs = {m: abs(unrounded["local"][m] - unrounded["ray"][m]) for m in local}
    forecast_diff = float(
        max(
            (forecasts["local"][c] - forecasts["ray"][c]).abs().max() for c in ("p10", "p50", "p90")
        )
    )
    frames = epf.read_epf(epf.Path(args.data))
    market = str(frames["energy_prices"]["market"].iloc[0])
    days = epf.test_period(frames["energy_prices"])[: args.days]
    features = epf.build_features(frames, market, days, args.train_days)
    step = 1 if args.recalibrate == "daily" else 7
    fitted = [m for m in local if m not in (epf.BLEND, epf.ADAPTIVE)]
    tasks = len(fitted) * math.ceil(len(days) / step)
    overhead = {
        name: round(
            per_task_ms(
                open_engine(ComputeSettings(engine=name, address=args.address, workers=args.jobs)),
                features,
                tasks,
            ),
            1,
        )
        for name in ("local", "ray")
    }
    out = {
        "benchmark": "compute",
        "market": market,
        "days": len(days),
        "recalibrate": args.recalibrate,
        "models": fitted,
        "tasks": tasks,
        "workers": args.jobs,
        "feature_rows": len(features),
        "mae": {m: unrounded["local"][m] for m in local},
        "mae_max_abs_diff": max(diffs.values()),
        "forecast_max_abs_diff": forecast_diff,
        "identical": max(diffs.values()) <= 1e-9,
        "local_wall_s": runs["local"]["wall_s"],
        "ray_wall_s": runs["ray"]["wall_s"],
        "ray_vs_local_wall": round(runs["ray"]["wall_s"] / runs["local"]["wall_s"], 3),
        "ray_startup_s": round(startup, 1),
        "per_task_overhead_ms": overhead,
        "cpus": len(os.sched_getaffinity(0)),
    }
    sys.stdout.write(orjson.dumps(out).decode() + "\n")
    return 0 if out["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
