"""The EPF open-access benchmark (Lago, Marcjasz, De Schutter and Weron, Applied Energy 2021).

Runs the paper's protocol on any file in the EPF format (timestamp, price, two exogenous
day-ahead forecasts; the market is the file's stem): forecast the 24 hourly prices of day D with
what is known on D-1, over the last 728 days of the file, recalibrating before every forecast
day (``daily``, the paper's protocol) or every week (``weekly``). The chosen models of
``heliograph.apps.energy`` (all by default, the seasonal naive always) are backtested on the
same walk-forward window, and the published LEAR and DNN ensembles (and the ensemble's single
calibration windows) are scored over exactly the same hours when their forecast file lies
beside the data (``<data dir>/reference-forecasts/Forecasts_<MARKET>_DNN_LEAR_ensembles.csv``).
See benchmarks/README.md for the output, the rMAE convention and measured results.

    python benchmarks/epf.py --data ../shared/data/epf/BE.csv --recalibrate weekly --days 28

One JSON line goes to standard output; progress and warnings go to standard error. A file that
cannot be read (missing, malformed) is one line on standard error and exit status 2.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import math
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _epf_backtest import GBM_REFIT_DAYS, GBM_UPDATE_TREES, backtest_models, log
from _epf_scores import (
    BLEND_DAYS,
    BLEND_MIN_DAYS,
    adaptive_blend,
    choose,
    chosen_forecast,
    conformal,
    coverage,
    diebold_mariano,
    naive_mae,
    scores,
)

import heliograph
from heliograph.apps.energy import (
    MODEL_NAMES,
    PriceFeatures,
    combine,
    feature_columns,
    forecast_requests,
    make_model,
    read_epf,
)
from heliograph.compute import ENGINES, Engine, open_engine
from heliograph.core import ComputeSettings, DataError, HelioError

PAPER_TEST_DAYS = 728  # the last two years of each six-year file
PAPER_TRAIN_DAYS = 1456  # the longest of LEAR's calibration windows (56, 84, 1092, 1456 days)
VALIDATION_DAYS = 28  # at most, just before the test period: where the choice is made
FREQ = "60min"
NAIVE = "seasonal_naive"
BLEND = "blend"
ADAPTIVE = "blend_adaptive"  # the LEAR/GBM weight chosen before each day on the days before
RMAE_CONVENTION = (
    "epftoolbox: MAE over all test hours / MAE of the weekly naive (the real price 168 h "
    "earlier, taken from the test period's own prices, so the first 7 test days have no naive "
    "and are left out of the denominator); the same denominator for every model and reference"
)
REFERENCE_COLUMNS = {
    "real": "real price",
    "lear_ensemble": "lear ensemble",
    "dnn_ensemble": "dnn ensemble",
}
EXIT_DATA = 2  # the file cannot be read, or holds too little to run the protocol
EXIT_LEAK = 3  # the feature frame uses a value that was not yet known: a library bug


# ---------------------------------------------------------------------------------------------
# arguments


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return value


def _models(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in MODEL_NAMES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown model {unknown[0]!r}" if unknown else "no model named"
        )
    return names


def parse_args(argv: Sequence[str] | None = None) -> tuple[argparse.ArgumentParser, Any]:
    parser = argparse.ArgumentParser(
        prog="epf.py",
        description="Run the EPF open-access benchmark protocol on one EPF-format CSV file.",
    )
    parser.add_argument("--data", required=True, type=Path, help="an EPF-format CSV (BE.csv, …)")
    parser.add_argument(
        "--recalibrate",
        choices=("daily", "weekly"),
        default="daily",
        help="refit before every forecast day (daily, the paper's protocol) or every 7 days",
    )
    parser.add_argument(
        "--days",
        type=_positive,
        default=None,
        help="score only the first N days of the test period (default: all of it)",
    )
    parser.add_argument(
        "--models",
        type=_models,
        default=[name for name in MODEL_NAMES if name != NAIVE],
        help=f"comma-separated, from {', '.join(MODEL_NAMES)}; the seasonal naive always runs",
    )
    parser.add_argument(
        "--train-days",
        type=_positive,
        default=PAPER_TRAIN_DAYS,
        help="calibration window: fit on the most recent N days before each origin",
    )
    parser.add_argument(
        "--jobs",
        type=_positive,
        default=2,
        help="backtest up to this many models at once, one process each (default 2)",
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default=None,
        help="backtest each model's refits in parallel on this compute engine (local: "
        "--jobs processes; ray: the cluster at --address, else one of --jobs CPUs started "
        "here), the models one after another; default: one process per model",
    )
    parser.add_argument(
        "--address", default="", help="the Ray cluster's address, with --engine ray"
    )
    parser.add_argument(
        "--penalty-days",
        type=_positive,
        default=1,
        help="LEAR re-chooses its AIC penalties every N days, refitting daily in between "
        "(default 1: every fit, the paper's protocol)",
    )
    parser.add_argument(
        "--predictions",
        type=Path,
        default=None,
        help="also write every model's hourly forecasts (p10, p50, p90) to this CSV file",
    )
    return parser, parser.parse_args(argv)


# ---------------------------------------------------------------------------------------------
# the test period and the feature frame


def test_period(prices: pd.DataFrame) -> pd.DatetimeIndex:
    """The delivery days of the test period.

    The test period is the file's last 728 days; a file shorter than 3 x 728 days (the
    paper's four years of history and two of test) gives its last third instead.
    """
    all_days = pd.DatetimeIndex(prices["timestamp"].dt.normalize().unique()).sort_values()
    length = min(PAPER_TEST_DAYS, len(all_days) // 3)
    if length < 1:
        raise DataError(
            f"the file holds {len(all_days)} days, too few for a test period",
            field="content",
            rule="at least 3 days: two thirds history, one third test",
        )
    if length < PAPER_TEST_DAYS:
        log(
            f"the file holds {len(all_days)} days, fewer than 3 x {PAPER_TEST_DAYS}: "
            f"the test period is its last third, {length} days"
        )
    return all_days[-length:]


def validation_period(prices: pd.DataFrame, test: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """The days just before the test period: ``VALIDATION_DAYS``, or as many as the test days
    scored if fewer (a short run stays short); none if the file has fewer than twice that
    many before the test period (the models need history to train on)."""
    all_days = pd.DatetimeIndex(prices["timestamp"].dt.normalize().unique()).sort_values()
    before = all_days[all_days < test[0]]
    length = min(VALIDATION_DAYS, len(test))
    return before[-length:] if len(before) >= 2 * length else before[:0]


def build_features(
    frames: dict[str, pd.DataFrame], market: str, test_days: pd.DatetimeIndex, train_days: int
) -> pd.DataFrame:
    """The feature frame for the test days and the calibration window before them."""
    prices = frames["energy_prices"]
    first = prices["timestamp"].min().normalize()
    # train_days before the first origin (D-1 10:00) reach into day D - train_days - 1.
    start = max(first, test_days[0] - pd.Timedelta(days=train_days + 1))
    days = pd.date_range(start, test_days[-1], freq="D")
    requests = forecast_requests([market], days, FREQ)
    return PriceFeatures().compute(frames, requests)


def check_availability(
    frames: dict[str, pd.DataFrame], features: pd.DataFrame, days: Sequence[pd.Timestamp]
) -> None:
    """Fail loudly if a feature of day D uses anything not known at D-1 10:00.

    Checks the timing rules (prices of D known at D-1 12:00, exogenous forecasts at D-1 09:00,
    the forecast made at D-1 10:00), then recomputes the features of the given days from only
    the rows available at their origin: they must equal those of the full frame. Also checks
    that what *is* known is used: D-1's prices and D's exogenous forecasts are present.
    """
    prices, forecasts = frames["energy_prices"], frames["energy_forecasts"]
    rules = {
        "prices of D at D-1 12:00": (prices, pd.Timedelta(hours=12)),
        "forecasts of D at D-1 09:00": (forecasts, pd.Timedelta(hours=15)),
    }
    for rule, (frame, before) in rules.items():
        lead = frame["timestamp"].dt.normalize() - frame["available_at"]
        if not (lead == before).all():
            raise LeakError(f"availability is not as the EPF protocol says: {rule}")
    lead = features["timestamp"].dt.normalize() - features["as_of"]
    if not (lead == pd.Timedelta(hours=14)).all():
        raise LeakError("forecast origins are not D-1 10:00")
    inputs = feature_columns(features)
    known_then = [
        c for c in inputs if c == "price_lag_1d" or (c.startswith("fc_") and "_lag_" not in c)
    ]
    for day in days:
        rows = features.loc[features["timestamp"].dt.normalize() == day]
        as_of = rows["as_of"].iloc[0]
        visible = {
            name: frame.loc[frame["available_at"] <= as_of] for name, frame in frames.items()
        }
        requests = rows[["market", "timestamp", "as_of"]].reset_index(drop=True)
        again = PriceFeatures().compute(visible, requests)
        full = rows[inputs].to_numpy(dtype=float)
        seen = again[inputs].to_numpy(dtype=float)
        if not np.array_equal(full, seen, equal_nan=True):
            bad = [c for c, a, b in zip(inputs, full.T, seen.T, strict=True) if not _same(a, b)]
            raise LeakError(f"features of {day:%Y-%m-%d} use values not known at {as_of}: {bad}")
        missing = [c for c in known_then if rows[c].isna().any()]
        if missing:
            raise LeakError(f"features of {day:%Y-%m-%d} miss values known at {as_of}: {missing}")
    log(
        f"availability checked on {len(days)} days: features use only what was known at "
        "D-1 10:00, including D-1's prices and D's exogenous forecasts"
    )


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(a, b, equal_nan=True))


class LeakError(Exception):
    """The feature frame breaks the benchmark's information set."""


# ---------------------------------------------------------------------------------------------
# metrics


def reference_forecasts(data: Path, market: str, actual: pd.Series) -> pd.DataFrame | None:
    """The published forecasts over exactly the hours of ``actual`` (columns lower-cased)."""
    path = data.parent / "reference-forecasts" / f"Forecasts_{market}_DNN_LEAR_ensembles.csv"
    if not path.is_file():
        return None
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError):
        return None
    stamps = pd.to_datetime(table[table.columns[0]], format="ISO8601", utc=True, errors="coerce")
    table = table.set_index(stamps.astype(actual.index.dtype))
    table = table.loc[table.index.notna() & ~table.index.duplicated()]
    if len(table.index.intersection(actual.index)) < len(actual):
        return None
    table.columns = [str(c).strip().lower() for c in table.columns]
    return table.loc[actual.index]


def reference_scores(
    data: Path, market: str, actual: pd.Series, scale: float
) -> dict[str, Any] | None:
    """The published ensembles over exactly the hours of ``actual``, if their file exists."""
    path = data.parent / "reference-forecasts" / f"Forecasts_{market}_DNN_LEAR_ensembles.csv"
    if not path.is_file():
        return None
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        log(f"reference file {path} cannot be read, left out: {exc}")
        return None
    names = {str(c).strip().lower(): c for c in table.columns}
    missing = [want for want in REFERENCE_COLUMNS.values() if want not in names]
    if missing:
        log(f"reference file {path} has no column {missing[0]!r}, left out")
        return None
    stamps = pd.to_datetime(table[table.columns[0]], format="ISO8601", utc=True, errors="coerce")
    table = table.set_index(stamps.astype(actual.index.dtype))
    table = table.loc[table.index.notna() & ~table.index.duplicated()]
    found = table.index.intersection(actual.index)
    if len(found) < len(actual):
        log(
            f"reference file {path.name} covers {len(found)} of {len(actual)} test hours: "
            "the reference is left out"
        )
        return None
    rows = table.loc[actual.index]
    real = rows[names[REFERENCE_COLUMNS["real"]]].to_numpy(dtype=float)
    differs = float(np.nanmax(np.abs(real - actual.to_numpy(dtype=float))))
    if differs > 1e-6:
        log(f"reference real prices differ from the data file's by up to {differs:.4g}")
    out: dict[str, Any] = {"file": path.name, "real_price_max_abs_diff": differs}
    columns = {key: names[REFERENCE_COLUMNS[key]] for key in ("lear_ensemble", "dnn_ensemble")}
    # The ensemble's members, single calibration windows ("LEAR 1456"): compare --train-days.
    for name, column in names.items():
        window = re.fullmatch(r"lear\s+(\d+)", name)
        if window:
            columns[f"lear_{window.group(1)}"] = column
    for key, column in columns.items():
        forecast = pd.Series(rows[column].to_numpy(dtype=float), index=actual.index)
        out[key] = scores(actual, forecast, scale)
    return out


# ---------------------------------------------------------------------------------------------
# the run


def run(args: Any, parser: argparse.ArgumentParser) -> dict[str, Any]:
    started = time.perf_counter()
    code = library()  # before the run: the code it imported, should files change meanwhile
    frames = read_epf(args.data)
    market = str(frames["energy_prices"]["market"].iloc[0])
    days = test_period(frames["energy_prices"])
    if args.days is not None:
        if args.days > len(days):
            parser.error(f"--days {args.days}: the test period has only {len(days)} days")
        days = days[: args.days]
    log(
        f"{market}: {len(days)} test days {days[0]:%Y-%m-%d}..{days[-1]:%Y-%m-%d}, "
        f"recalibrate {args.recalibrate}, calibration window {args.train_days} days"
    )
    checked = validation_period(frames["energy_prices"], days)
    first = checked[0] if len(checked) else days[0]
    features = build_features(frames, market, days.union(checked), args.train_days)
    check_availability(frames, features, [first, days[0], days[-1]])

    names = [NAIVE, *(name for name in dict.fromkeys(args.models) if name != NAIVE)]
    blend = make_model(BLEND)
    if BLEND in names:  # its members first: the blend is then computed from their backtests
        names = [n for n in names if n != BLEND and n not in blend.members]
        names += [*blend.members, BLEND]
    members = tuple(blend.members) if BLEND in names else None
    models: dict[str, dict[str, Any]] = {}
    forecasts: dict[str, pd.DataFrame] = {}
    actual: pd.Series | None = None
    scale = math.nan
    fitted = [name for name in names if name != BLEND]
    engine = _engine(args, parser, fitted)
    selection: dict[str, Any] = {"validation_days": 0, "rule": "no validation period: "}
    if len(checked):
        log(f"validation: {len(checked)} days {checked[0]:%Y-%m-%d}..{checked[-1]:%Y-%m-%d}")
        seen = backtest_models(features, fitted, checked, args, f"{market} validation", engine)
        held = {n: r[0][["target", "p10", "p50", "p90"]] for n, r in seen.items()}
        selection = {
            "validation_days": len(checked),
            "validation_start": f"{checked[0]:%Y-%m-%d}",
            "validation_end": f"{checked[-1]:%Y-%m-%d}",
            **choose(held[NAIVE]["target"], held, members),
        }
        log(f"chosen on the validation period: {selection['candidate']}")
    results = backtest_models(features, fitted, days, args, market, engine)
    for name in names:
        if name == BLEND:
            # Blend.fit fits each member on the same rows, and Blend.predict is `combine` of
            # their forecasts: the same numbers as a backtest of make_model("blend") (weekly;
            # daily, the members refit as run_backtest says), which tests/test_benchmarks.py
            # checks, at no extra cost.
            parts = [forecasts[m] for m in blend.members]
            predictions = combine(parts, blend.weights).assign(target=parts[0]["target"])
            fits, wall = models[blend.members[0]]["fits"], 0.0
            log(f"{name}: {blend.params()['weights']} x {', '.join(blend.members)}")
        else:
            predictions, fits, wall = results[name]
        forecasts[name] = predictions[["target", "p10", "p50", "p90"]]
        if actual is None:
            actual = predictions["target"]
            scale = naive_mae(actual)
            if math.isnan(scale):
                log("rMAE is undefined: the weekly naive needs more than 7 test days")
        params = make_model(name).params()
        if name == "lear":
            params["penalty_days"] = args.penalty_days
        if name == "gbm_quantile" and args.recalibrate == "daily":
            params.update(refit_days=GBM_REFIT_DAYS, update_trees=GBM_UPDATE_TREES)
        models[name] = _scored(actual, forecasts[name], scale, fits, wall, params)
        log(
            f"{name}: MAE {models[name]['mae']:.3f}, rMAE {models[name]['rmae']:.3f} ({wall:.0f} s)"
        )

    assert actual is not None
    if BLEND in names:
        first, second = (forecasts[m] for m in blend.members)
        adaptive, weights = adaptive_blend(first, second)
        forecasts[ADAPTIVE] = adaptive
        params = {
            "model": ADAPTIVE,
            "members": ",".join(blend.members),
            "rule": f"weight of {blend.members[0]} in 0, 0.1 .. 1 with the least MAE over the "
            f"{BLEND_DAYS} test days before each day; 0.5 for the first {BLEND_MIN_DAYS}",
            "weight_mean": round(float(np.mean(weights)), 3),
            "weight_last": weights[-1],
        }
        models[ADAPTIVE] = _scored(actual, adaptive, scale, models[BLEND]["fits"], 0.0, params)
        log(f"{ADAPTIVE}: MAE {models[ADAPTIVE]['mae']:.3f}, mean weight {params['weight_mean']}")
    if not selection["validation_days"]:  # a rule fixed in advance: the blend, else the first
        pick = BLEND if BLEND in names else names[min(1, len(names) - 1)]
        selection = {"validation_days": 0, "model": pick, "weight": None, "candidate": pick}
    chosen = chosen_forecast(selection, forecasts, members)
    selection["test"] = _scored(actual, chosen, scale, 0, 0.0, {})
    if args.predictions is not None:
        table = pd.concat([f.assign(model=n) for n, f in forecasts.items()]).reset_index()
        table.to_csv(args.predictions, index=False)
    best = min(models, key=lambda n: (math.isnan(models[n]["mae"]), models[n]["mae"]))
    reference = reference_scores(args.data, market, actual, scale)
    published = reference_forecasts(args.data, market, actual) if reference else None
    if published is not None:
        for name, forecast in [*forecasts.items(), ("", chosen)]:
            entry = models[name] if name else selection["test"]
            entry["dm"] = {
                key: diebold_mariano(actual, forecast["p50"], published[column])
                for key, column in (
                    ("lear_ensemble", REFERENCE_COLUMNS["lear_ensemble"]),
                    ("dnn_ensemble", REFERENCE_COLUMNS["dnn_ensemble"]),
                )
            }
    out: dict[str, Any] = {
        "market": market,
        "days": len(days),
        "recalibrate": args.recalibrate,
        "wall_s": round(time.perf_counter() - started, 1),
        "test_start": f"{days[0]:%Y-%m-%d}",
        "test_end": f"{days[-1]:%Y-%m-%d}",
        "train_days": args.train_days,
        "rmae_convention": RMAE_CONVENTION,
        "library": code,
        "engine": None if engine is None else {"name": engine.name, "workers": engine.workers},
        "naive_mae": round(scale, 4),
        "models": models,
        "best": best,  # least test MAE: chosen in hindsight, for reference only
        "chosen": selection,  # chosen on the validation period: the one the verdicts are on
    }
    if reference is not None:
        out["reference"] = reference
        for key in ("lear_ensemble", "dnn_ensemble"):
            out[f"beats_{key}"] = bool(selection["test"]["mae"] < reference[key]["mae"])
    else:
        out["beats_lear_ensemble"] = None  # no reference file beside the data
    return out


def _scored(
    actual: pd.Series,
    forecast: pd.DataFrame,
    scale: float,
    fits: int,
    wall: float,
    params: dict[str, Any],
) -> dict[str, Any]:
    """A model's JSON entry: point scores, then the P10-P90 coverage, raw and conformal."""
    forecast = forecast.reindex(actual.index)
    corrected = conformal(forecast)
    return {
        **scores(actual, forecast["p50"], scale),
        "coverage_80": coverage(actual, forecast["p10"], forecast["p90"]),
        "coverage_80_conformal": coverage(actual, corrected["p10"], corrected["p90"]),
        "fits": fits,
        "wall_s": round(wall, 1),
        "params": params,
    }


def _engine(args: Any, parser: argparse.ArgumentParser, fitted: list[str]) -> Engine | None:
    """The compute engine ``--engine`` names, or None (one process per model)."""
    if args.engine is None:
        if args.address:
            parser.error("--address needs --engine ray")
        return None
    if args.penalty_days > 1 and "lear" in fitted:
        parser.error(
            "--engine fits a backtest's blocks in parallel, each with a new model, and "
            "--penalty-days N > 1 carries LEAR's penalties from one refit to the next: "
            "use one or the other"
        )
    return open_engine(ComputeSettings(engine=args.engine, address=args.address, workers=args.jobs))


def library() -> dict[str, str]:
    """Which heliograph ran: its version and a digest of the code this benchmark exercises."""
    root = Path(heliograph.__file__).parent
    digest = hashlib.sha256()
    for package in ("apps/energy", "features", "metrics", "training"):
        for file in sorted((root / package).glob("*.py")):
            digest.update(file.relative_to(root).as_posix().encode())
            digest.update(file.read_bytes())
    return {"version": importlib.metadata.version("heliograph"), "source": digest.hexdigest()[:12]}


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser, args = parse_args(argv)
    try:
        out = run(args, parser)
    except HelioError as exc:
        print(f"epf.py: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_DATA
    except LeakError as exc:
        print(f"epf.py: information leak: {exc}", file=sys.stderr)
        return EXIT_LEAK
    print(json.dumps(_json_safe(out), allow_nan=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
