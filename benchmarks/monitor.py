"""Monitoring at ledger scale: windowed live metrics per version and drift per column, against
Evidently 0.7's ``Report([DataDriftPreset()])`` on the same data.

A ledger of ``--rows`` judged predictions (generated: 4 model versions, 30 days of target
times, actuals, P10/P50/P90) with ``--features`` feature columns (one in ten a category), and
a training reference of ``--reference-rows`` rows; a few features drift. Each part runs in a
child process of its own, so that each peak memory (``ru_maxrss``) is its own:

- ``metrics``: ``heliograph.monitoring.performance`` per (model, version, role) and day (30
  daily windows, what the ledger stores as history) and over the rolling 24 h and 7 d windows
  ending now; checked against a pandas ``groupby`` of the same rows;
- ``drift``: ``heliograph.monitoring.column_drift`` per column (PSI, KS, Wasserstein; JS and
  chi² for categories), each column read from disk on its own, as a columnar store is read;
  the first column is checked against scipy (``heliograph.metrics``);
- ``evidently`` (with ``--evidently-python``, a Python that has ``evidently==0.7.*`` and
  ``pandas<3``; the benchmark creates nothing): ``Report([DataDriftPreset()]).run`` on the
  same two frames. Both compute the normed Wasserstein distance (numbers) and the
  Jensen–Shannon distance (categories; Evidently's natural-log figure is converted to base 2).

    nice -n 19 python benchmarks/monitor.py --evidently-python /work/wt/evidently-venv/bin/python

One JSON line. Each part: ``seconds`` and ``cpu_seconds`` (user + sys) of its timed section
(the computation; imports and building Evidently's frames are outside it, drift's reading of
each column inside), ``child_seconds`` and ``child_cpu_seconds`` of its whole child (measured
from outside: the ``RUSAGE_CHILDREN`` delta), and ``peak_mb``. Then drift against Evidently:
``speedup`` (wall) and ``cpu_speedup`` (CPU) of the timed sections, ``memory_ratio``, the
largest difference of a shared statistic, and ``checks`` (each can fail; the goals: ≥ 20×
faster, ≤ ¼ of the peak memory, the same statistics within 1e-3). **The speed goal is judged
on CPU** (``speed_goal_uses``): on a shared machine a child's wall seconds measure the share
of the cores it was given, its CPU seconds the work it did; ``checks`` has the wall figure too.

``--evidently-timeout`` (s) and ``--evidently-max-mb`` (resident) stop an Evidently child that
exceeds them; the line then has ``evidently.stopped`` and bounds from what it had used by then
(``speedup_at_least``, ``cpu_speedup_at_least``: whole children; ``memory_ratio_at_most``), and
a check the bounds cannot decide is ``null``: not measured, neither met nor failed.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

DAY = 86_400
END = 1_750_000_000  # the window end ("now"), seconds since the epoch, UTC
CATEGORIES = ["north", "south", "east", "west", "offshore"]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def columns_of(features: int) -> list[tuple[str, str]]:
    """(name, kind) of each feature: one in ten a category."""
    return [(f"f{i:02d}", "category" if i % 10 == 9 else "numeric") for i in range(features)]


def generate(folder: Path, rows: int, reference_rows: int, features: int, seed: int) -> None:
    """Every column as its own .npy file (written one at a time, so little is in memory)."""
    rng = np.random.default_rng(seed)
    version = rng.integers(0, 4, rows).astype("int8")
    np.save(folder / "version.npy", version)
    np.save(folder / "target_time.npy", END - rng.integers(1, 30 * DAY, rows))
    actual = rng.normal(60, 15, rows)
    np.save(folder / "actual.npy", actual)
    spread = 4.0 + version  # the versions differ in error
    p50 = actual + rng.normal(0, 1, rows) * spread
    np.save(folder / "p50.npy", p50)
    np.save(folder / "p10.npy", p50 - 1.2816 * spread)
    np.save(folder / "p90.npy", p50 + 1.2816 * spread)
    del version, actual, p50, spread
    for i, (name, kind) in enumerate(columns_of(features)):
        drifts = i % 7 == 0  # f00, f07, f14: the live data moved
        if kind == "category":
            p_ref = np.array([0.4, 0.25, 0.15, 0.15, 0.05])
            p_cur = np.array([0.3, 0.3, 0.15, 0.15, 0.1]) if drifts else p_ref
            np.save(
                folder / f"ref_{name}.npy", rng.choice(5, reference_rows, p=p_ref).astype("int8")
            )
            np.save(folder / f"cur_{name}.npy", rng.choice(5, rows, p=p_cur).astype("int8"))
        else:
            scale = 1.0 + i
            np.save(folder / f"ref_{name}.npy", np.round(rng.normal(0, scale, reference_rows), 3))
            shift = 0.3 * scale if drifts else 0.0
            np.save(folder / f"cur_{name}.npy", np.round(rng.normal(shift, scale, rows), 3))


# -- children -------------------------------------------------------------------------------


def child_metrics(folder: Path) -> dict[str, Any]:
    import pandas as pd

    from heliograph.monitoring import GROUP, performance

    started = time.perf_counter()
    version = np.load(folder / "version.npy")
    frame = pd.DataFrame(
        {
            "model_name": pd.Categorical.from_codes(
                version // 2, ["energy-price-GB", "energy-price-DE"]
            ),
            "model_version": pd.Categorical.from_codes(version, ["3", "4", "7", "8"]),
            "role": pd.Categorical.from_codes(version % 2, ["champion", "challenger"]),
        }
    )
    del version
    target = np.load(folder / "target_time.npy")
    frame["day"] = (target - END) // DAY
    for name in ("actual", "p10", "p50", "p90"):
        frame[name] = np.load(folder / f"{name}.npy")
    read = time.perf_counter() - started
    started, cpu = time.perf_counter(), time.process_time()
    daily = performance(frame, by=(*GROUP, "day"))
    rolling = {}
    for hours in (24, 168):
        window = frame[target >= END - hours * 3600]
        rolling[hours] = performance(window)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    # the check: a plain pandas groupby of the same rows
    window = frame[target >= END - 168 * 3600]
    error = window["p50"] - window["actual"]
    expected = error.abs().groupby(window["model_version"], observed=True).mean()
    got = rolling[168].set_index("model_version")["mae"]
    diff = float(np.max(np.abs(got.reindex(expected.index).to_numpy() - expected.to_numpy())))
    return {
        "read_seconds": round(read, 3),
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "daily_rows": len(daily),
        "peak_mb": round(peak_mb(), 1),
        "mae_7d": {str(k): round(float(v), 6) for k, v in got.items()},
        "max_diff_vs_pandas": diff,
    }


def child_drift(folder: Path, features: int) -> dict[str, Any]:
    import pandas as pd
    import scipy.spatial.distance
    import scipy.stats  # imported before the clock starts, as Evidently's are

    from heliograph.metrics import ks_statistic, psi, wasserstein
    from heliograph.monitoring import column_drift

    assert scipy.stats and scipy.spatial.distance
    statistics: dict[str, dict[str, float]] = {}
    started, cpu = time.perf_counter(), time.process_time()
    for name, kind in columns_of(features):
        reference, current = (
            np.load(folder / f"ref_{name}.npy"),
            np.load(folder / f"cur_{name}.npy"),
        )
        if kind == "category":
            reference = pd.Categorical.from_codes(reference, CATEGORIES)
            current = pd.Categorical.from_codes(current, CATEGORIES)
        statistics[name] = column_drift(name, reference, current).statistics
        del reference, current
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = peak_mb()
    reference, current = np.load(folder / "ref_f00.npy"), np.load(folder / "cur_f00.npy")
    scipy = {
        "psi": psi(reference, current),
        "ks": ks_statistic(reference, current),
        "wasserstein": wasserstein(reference, current) / np.std(reference),
    }
    diff = max(abs(scipy[k] - statistics["f00"][k]) for k in scipy)
    return {
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "peak_mb": round(peak, 1),
        "statistics": statistics,
        "max_diff_vs_scipy": diff,
    }


def child_evidently(folder: Path, features: int) -> dict[str, Any]:
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    frames = {}
    for side in ("ref", "cur"):
        data = {}
        for name, kind in columns_of(features):
            values = np.load(folder / f"{side}_{name}.npy")
            data[name] = (
                pd.Categorical.from_codes(values, CATEGORIES) if kind == "category" else values
            )
        frames[side] = pd.DataFrame(data)
    started, cpu = time.perf_counter(), time.process_time()
    snapshot = Report([DataDriftPreset()]).run(frames["cur"], frames["ref"])
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    values = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config.get("type", "").endswith("ValueDrift"):
            values[config["column"]] = {"method": config["method"], "value": metric["value"]}
    import evidently

    return {
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "peak_mb": round(peak_mb(), 1),
        "values": values,
        "version": evidently.__version__,
        "pandas": pd.__version__,
    }


def resident_mb(pid: int) -> tuple[float, float]:
    """(resident now, resident peak) of a running process in MB, from /proc (Linux); 0 when
    it cannot be read."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0, 0.0
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    kib = [float(fields.get(k, "0 kB").split()[0]) for k in ("VmRSS", "VmHWM")]
    return kib[0] / 1024, kib[1] / 1024


def run_child(
    python: str,
    part: str,
    folder: Path,
    features: int,
    timeout: float = 0.0,
    max_mb: float = 0.0,
) -> dict[str, Any]:
    """The part in a child process. Adds, measured from outside, the child's whole wall and
    CPU seconds (user + sys, its start, imports and reading included: the ``RUSAGE_CHILDREN``
    delta around it). With ``timeout`` (s) or ``max_mb`` (resident), a child that exceeds
    either is stopped, and the answer says so (``stopped``) with what it had used by then."""
    command = [
        python,
        __file__,
        "--child",
        part,
        "--data",
        str(folder),
        "--features",
        str(features),
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    child = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )  # fmt: skip
    stopped, highest, out, err = "", 0.0, "", ""
    while True:
        try:
            out, err = child.communicate(timeout=1.0)  # retrying loses no output
            break
        except subprocess.TimeoutExpired:
            now, peak = resident_mb(child.pid)
            highest = max(highest, peak, now)
            elapsed = time.perf_counter() - started
            if timeout and elapsed > timeout:
                stopped = f"still running after {elapsed:.0f} s (timeout {timeout:.0f} s)"
            elif max_mb and now > max_mb:
                stopped = f"{now:.0f} MB resident, over the {max_mb:.0f} MB limit"
            if stopped:
                child.kill()
                out, err = child.communicate()
                break
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    usage = {
        "child_seconds": round(seconds, 3),
        "child_cpu_seconds": round(
            after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, 3
        ),
    }
    if stopped:
        return {"stopped": stopped, "peak_mb_seen": round(highest, 1), **usage}
    if child.returncode != 0:
        raise RuntimeError(f"{part} failed: {err.strip().splitlines()[-1:]}")
    return {**json.loads(out.strip().splitlines()[-1]), **usage}


def shared_statistics(ours: dict[str, dict[str, float]], theirs: dict[str, Any]) -> dict[str, Any]:
    """Each statistic both compute, side by side, and the largest difference."""
    pairs = {}
    for name, found in theirs.items():
        method, value = found["method"], float(found["value"])
        if method.startswith("Wasserstein"):
            pairs[name] = ("wasserstein", ours[name]["wasserstein"], value)
        elif method.startswith("Jensen"):  # Evidently: natural log; ours: base 2
            pairs[name] = (
                "jensen_shannon",
                ours[name]["jensen_shannon"],
                value / math.sqrt(math.log(2)),
            )
    diffs = [abs(a - b) for _, a, b in pairs.values()]
    return {"compared": len(pairs), "max_abs_diff": max(diffs) if diffs else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--reference-rows", type=int, default=2_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--evidently-python", default="", help="a Python with evidently 0.7")
    parser.add_argument(
        "--evidently-timeout", type=float, default=0.0, help="stop Evidently after this many s"
    )
    parser.add_argument(
        "--evidently-max-mb", type=float, default=0.0, help="stop Evidently above this resident MB"
    )
    parser.add_argument(
        "--child", choices=["metrics", "drift", "evidently"], help=argparse.SUPPRESS
    )
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        part = {
            "metrics": lambda: child_metrics(args.data),
            "drift": lambda: child_drift(args.data, args.features),
            "evidently": lambda: child_evidently(args.data, args.features),
        }[args.child]
        print(json.dumps(part()))
        return 0
    if args.rows < 1000 or args.reference_rows < 1000 or not 1 <= args.features <= 200:
        print("--rows and --reference-rows ≥ 1000, --features 1..200", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="helio-monitor-bench-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        generate(folder, args.rows, args.reference_rows, args.features, args.seed)
        print(f"generated in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        metrics = run_child(sys.executable, "metrics", folder, args.features)
        print(f"metrics: {metrics['seconds']} s", file=sys.stderr)
        drift = run_child(sys.executable, "drift", folder, args.features)
        print(f"drift: {drift['seconds']} s", file=sys.stderr)
        evidently = None
        if args.evidently_python:
            evidently = run_child(
                args.evidently_python, "evidently", folder, args.features,
                timeout=args.evidently_timeout, max_mb=args.evidently_max_mb,
            )  # fmt: skip
            done = evidently.get("seconds", evidently.get("stopped"))
            print(f"evidently: {done}", file=sys.stderr)
    checks = {
        "metrics_match_pandas": metrics["max_diff_vs_pandas"] <= 1e-9,
        "drift_matches_scipy": drift["max_diff_vs_scipy"] <= 1e-9,
    }
    result: dict[str, Any] = {
        "benchmark": "monitor",
        "rows": args.rows,
        "reference_rows": args.reference_rows,
        "features": args.features,
        "metrics": metrics,
        "drift": {k: v for k, v in drift.items() if k != "statistics"},
        "evidently": None,
    }
    if evidently is not None and "stopped" in evidently:
        # Evidently did not finish: bounds from what it had used when stopped (its whole
        # child, against drift's whole child), and no statistics to compare.
        result["evidently"] = evidently
        result["speedup_at_least"] = round(evidently["child_seconds"] / drift["child_seconds"], 1)
        result["cpu_speedup_at_least"] = round(
            evidently["child_cpu_seconds"] / drift["child_cpu_seconds"], 1
        )
        seen = evidently["peak_mb_seen"]  # 0 when /proc could not be read
        result["memory_ratio_at_most"] = round(drift["peak_mb"] / seen, 3) if seen else None
        result["shared_statistics"] = {"compared": 0, "max_abs_diff": None}
        checks["speedup_at_least_20x"] = result["speedup_at_least"] >= 20 or None
        checks["cpu_speedup_at_least_20x"] = result["cpu_speedup_at_least"] >= 20 or None
        checks["memory_at_most_a_quarter"] = (
            bool(seen) and result["memory_ratio_at_most"] <= 0.25
        ) or None
        checks["same_statistics_within_1e-3"] = None  # not measured
    elif evidently is not None:
        shared = shared_statistics(drift["statistics"], evidently["values"])
        result["evidently"] = {k: v for k, v in evidently.items() if k != "values"}
        result["speedup"] = round(evidently["seconds"] / drift["seconds"], 1)
        result["cpu_speedup"] = round(evidently["cpu_seconds"] / drift["cpu_seconds"], 1)
        result["memory_ratio"] = round(drift["peak_mb"] / evidently["peak_mb"], 3)
        result["shared_statistics"] = shared
        checks["speedup_at_least_20x"] = result["speedup"] >= 20
        checks["cpu_speedup_at_least_20x"] = result["cpu_speedup"] >= 20
        checks["memory_at_most_a_quarter"] = result["memory_ratio"] <= 0.25
        checks["same_statistics_within_1e-3"] = (
            shared["compared"] == args.features and shared["max_abs_diff"] <= 1e-3
        )
    if evidently is not None:
        # On a shared machine a child's wall seconds measure the share of the cores it got;
        # its CPU seconds measure its work. The goal is judged on CPU.
        result["speed_goal_uses"] = "cpu"
    result["checks"] = checks
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
