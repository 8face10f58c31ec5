"""Training the price forecasters of one market: snapshot → features → backtest → MLflow → registry.

Every candidate model is backtested walk-forward on the same window, logged as an MLflow run
with its metrics, plots, model and lineage; the best one by the project's policy metric is
registered as a new version of ``energy-price-<MARKET>`` and becomes its ``challenger``.

>>> outcome = train_market(project, "GB")
>>> outcome.version, outcome.best, outcome.metrics[outcome.best]["mae"]
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from heliograph import __version__
from heliograph.checks import run_checks, unique
from heliograph.core import DataError, Project, UsageError, get_logger
from heliograph.features import compute_offline
from heliograph.lake import Lake, load_snapshot, newest_snapshot, open_lake, take_snapshot
from heliograph.registry import (
    CHAMPION,
    TAG_METRICS,
    TAG_PREDICTIONS,
    TAG_RESCORES,
    TAG_WINDOW,
    Registry,
    metric_key,
)
from heliograph.tracking import lineage_tags, tracked_run
from heliograph.training import backtest, forecast_metrics

from ._battery import battery_value
from ._features import PriceFeatures, feature_columns, forecast_requests
from ._models import MODEL_NAMES, Blend, combine, make_model

__all__ = ["TrainOutcome", "model_name", "train_market"]

log = get_logger(__name__)
INPUTS = ("energy_prices", "energy_forecasts")
# What the logged metrics mean, for reports (the CI report's table and plots).
_METRICS_SHOWN = {
    "mae": {"unit": "€/MWh", "better": "lower"},
    "rmse": {"unit": "€/MWh", "better": "lower"},
    "smape": {"unit": "%", "better": "lower"},
    "rmae": {"unit": "ratio", "better": "lower"},
    "pinball_q50": {"unit": "€/MWh", "better": "lower"},
    "coverage_80": {"unit": "share", "better": 0.8},
    "battery_capture": {"unit": "share", "better": "higher"},
}
_PREDICTIONS = {
    "path": "backtest/predictions.parquet",
    "time": "timestamp",
    "actual": "target",
    "forecast": "p50",
    "low": "p10",
    "high": "p90",
    "unit": "€/MWh",
}
_REPORT_TAGS = {TAG_METRICS: json.dumps(_METRICS_SHOWN), TAG_PREDICTIONS: json.dumps(_PREDICTIONS)}


def _log_predictions(predictions: pd.DataFrame) -> None:
    """The backtest's predictions, as a Parquet artefact the reports plot."""
    import tempfile
    from pathlib import Path

    import mlflow

    columns = ["timestamp", "target", "p10", "p50", "p90"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(_PREDICTIONS["path"]).name
        predictions[columns].to_parquet(path, index=False)
        mlflow.log_artifact(str(path), str(Path(_PREDICTIONS["path"]).parent))


def model_name(market: str) -> str:
    return f"energy-price-{market}"


@dataclass
class TrainOutcome:
    market: str
    snapshots: list[str]
    window: str
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    runs: dict[str, str] = field(default_factory=dict)
    model_uris: dict[str, str] = field(default_factory=dict)
    best: str = ""
    version: str | None = None
    checks_passed: bool = True


def _resolve_snapshots(lake: Lake, given: Sequence[str]) -> dict[str, str]:
    chosen: dict[str, str] = {}
    for snapshot_id in given:
        snap = load_snapshot(lake, snapshot_id)
        if snap.dataset not in INPUTS:
            raise UsageError(
                f"snapshot {snapshot_id} is of {snap.dataset}, which the price models do not read",
                field="--snapshot",
                rule="snapshots of " + " and ".join(INPUTS),
            )
        chosen[snap.dataset] = snap.id
    for name in INPUTS:
        if name not in chosen:
            snap = newest_snapshot(lake, name) or take_snapshot(lake, name)
            chosen[name] = snap.id
    return chosen


def _check_snapshots(lake: Lake, snapshots: dict[str, str]) -> tuple[bool, dict[str, Any]]:
    """Run each dataset's blocking checks over the snapshot: lineage, and a gate."""
    summary: dict[str, Any] = {}
    passed = True
    for name, snapshot_id in snapshots.items():
        dataset = lake.dataset(name)
        frame = lake.read(name, snapshot=snapshot_id)
        checks = [
            unique(*dataset.key),
            *[c for c in dataset.checks if c.scope == "partition" and c.severity == "error"],
        ]
        if frame.empty:
            summary[name] = {"snapshot": snapshot_id, "partitions": 0, "failed": {}}
            continue
        frame["__partition"] = frame[dataset.time_column].dt.strftime("%Y-%m-%d")
        table = pa.Table.from_pydict(
            {c: frame[c].to_numpy() for c in [*_checks_columns(checks, dataset.key), "__partition"]}
        )
        verdicts = run_checks(table, "__partition", checks)
        failed: dict[str, int] = {}
        for results in verdicts.values():
            for r in results:
                if r.blocking:
                    failed[r.check] = failed.get(r.check, 0) + 1
        passed &= not failed
        summary[name] = {
            "snapshot": snapshot_id,
            "partitions": len(verdicts),
            "checks": [c.label() for c in checks],
            "failed": failed,
        }
    return passed, summary


def _checks_columns(checks: Sequence[Any], key: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*key, *(c for check in checks for c in check.columns_used())]))


def _features(lake: Lake, snapshots: dict[str, str], market: str) -> pd.DataFrame:
    prices = lake.read(
        "energy_prices", snapshot=snapshots["energy_prices"], columns=["market", "timestamp"]
    )
    markets = sorted(prices["market"].unique())
    if market not in markets:
        raise UsageError(
            f"unknown market {market!r} in {snapshots['energy_prices']}",
            field="--market",
            rule="one of " + (", ".join(markets) or "(none)"),
        )
    stamps = prices.loc[prices["market"] == market, "timestamp"].sort_values()
    step = stamps.diff().median()
    first, last = stamps.iloc[0].normalize(), stamps.iloc[-1].normalize()
    days = pd.date_range(first + pd.Timedelta(days=8), last, freq="D")
    if len(days) == 0:
        raise DataError(
            f"{market}: fewer than 9 days of prices in the snapshot",
            field="training window",
            rule="at least 9 days (lags reach back 7)",
        )
    freq = f"{int(step / pd.Timedelta(minutes=1))}min"
    requests = forecast_requests([market], days, freq)
    return compute_offline(lake, PriceFeatures(), requests, snapshots=snapshots)


def _recent(features: pd.DataFrame, train_days: int | None) -> pd.DataFrame:
    """The rows the registered model is fit on: known labels, the last ``train_days`` days,
    the same window every backtest fit saw."""
    known = features.loc[features["target"].notna()]
    if train_days is None or known.empty:
        return known
    return known.loc[known["timestamp"] >= known["timestamp"].max() - pd.Timedelta(days=train_days)]


def _metrics(predictions: pd.DataFrame, naive: pd.Series) -> dict[str, float]:
    metrics = forecast_metrics(
        predictions["target"].to_numpy(),
        predictions["p50"].to_numpy(),
        naive=naive.loc[predictions.index].to_numpy(),
        quantiles={
            0.1: predictions["p10"].to_numpy(),
            0.5: predictions["p50"].to_numpy(),
            0.9: predictions["p90"].to_numpy(),
        },
    )
    series = predictions.set_index("timestamp")
    battery = battery_value(series["target"], series["p50"])
    metrics["battery_capture"] = battery["capture"]
    metrics["battery_revenue"] = battery["revenue"]
    return {k: float(v) for k, v in metrics.items()}


def _plots(predictions: pd.DataFrame, label: str) -> dict[str, Any]:
    from matplotlib.figure import Figure

    recent = predictions[
        predictions["timestamp"] >= predictions["timestamp"].max() - pd.Timedelta(days=14)
    ]
    fig = Figure(figsize=(10, 3.2), dpi=90)
    ax = fig.add_subplot()
    ax.fill_between(recent["timestamp"], recent["p10"], recent["p90"], alpha=0.25, label="P10–P90")
    ax.plot(recent["timestamp"], recent["p50"], lw=1, label=f"{label} P50")
    ax.plot(recent["timestamp"], recent["target"], lw=1, color="black", label="actual")
    ax.set_title(f"{label}: forecast vs actual, last 14 days of the backtest", fontsize=9)
    ax.legend(fontsize=8, loc="upper left")
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.12, top=0.9)
    hours = predictions["timestamp"].dt.hour + predictions["timestamp"].dt.minute / 60
    by_hour = (predictions["target"] - predictions["p50"]).abs().groupby(hours).mean()
    fig2 = Figure(figsize=(10, 3), dpi=90)
    ax2 = fig2.add_subplot()
    ax2.bar(by_hour.index, by_hour.to_numpy(), width=0.4)
    ax2.set_title(f"{label}: mean absolute error by hour of day (UTC)", fontsize=9)
    ax2.set_xlabel("hour")
    fig2.subplots_adjust(left=0.06, right=0.99, bottom=0.16, top=0.9)
    return {"plots/forecast_vs_actual.png": fig, "plots/error_by_hour.png": fig2}


def _rescore_champion(
    project: Project,
    registry: Registry,
    market: str,
    features: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    naive: pd.Series,
    experiment: str,
    tags: dict[str, str],
    window: str,
) -> None:
    """Score the serving champion's own model on this backtest window, so the policy can
    compare like with like. (Its model may have been fit on days inside the window, which
    only makes it harder to beat.)"""
    import mlflow

    name = model_name(market)
    if name not in registry.models():
        return
    version = registry.version_of(name, CHAMPION)
    if version is None or registry.run_of(name, version).data.tags.get(TAG_WINDOW) == window:
        return
    day = features["timestamp"].dt.normalize()
    rows = features.loc[(day >= start) & (day <= end) & features["target"].notna()]
    champion = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
    columns = champion.metadata.signature.inputs.input_names()
    predicted = pd.DataFrame(champion.predict(rows[columns].astype(float)))
    predicted.index = rows.index
    scored = pd.concat([rows[["market", "timestamp", "target"]], predicted], axis=1)
    metrics = _metrics(scored, naive)
    with tracked_run(
        project,
        experiment,
        f"{market}-champion-v{version}-rescored",
        tags={
            **tags,
            **_REPORT_TAGS,
            TAG_WINDOW: window,
            TAG_RESCORES: f"{name}/{version}",
            "helio.market": market,
        },
    ):
        mlflow.log_metrics({metric_key(k): v for k, v in metrics.items() if not math.isnan(v)})
        _log_predictions(scored)


def _members_first(models: Sequence[str]) -> list[str]:
    """``models`` with each blend after the members it combines (when they are there too)."""
    members = [m for m in models if m != "blend"]
    return [*members, "blend"] if "blend" in models else members


def train_market(
    project: Project,
    market: str,
    *,
    snapshots: Sequence[str] = (),
    models: Sequence[str] = MODEL_NAMES,
    backtest_days: int = 56,
    recalibrate: str | int = "weekly",
    train_days: int | None = 365,
    register: bool = True,
    allow_failed_checks: bool = False,
    reason: str = "",
    make: Callable[[str], Any] = make_model,
) -> TrainOutcome:
    """Backtest, log and register the price models of one market (see module doc)."""
    import mlflow
    from mlflow.models import infer_signature

    unknown = [m for m in models if m not in MODEL_NAMES]
    if unknown:
        raise UsageError(
            f"unknown model {unknown[0]!r}",
            field="--models",
            rule="any of " + ", ".join(MODEL_NAMES),
        )
    lake = open_lake(project)
    chosen = _resolve_snapshots(lake, snapshots)
    checks_passed, checks = _check_snapshots(lake, chosen)
    if not checks_passed and not allow_failed_checks:
        failed = {k: v["failed"] for k, v in checks.items() if v["failed"]}
        raise DataError(
            f"the snapshots failed their checks: {json.dumps(failed)}",
            field="snapshot",
            rule="training data passes its checks",
            hint="fix the data, or pass --allow-failed-checks (the policy will "
            "then refuse to promote the model)",
        )
    features = _features(lake, chosen, market)
    known_days = features.loc[features["target"].notna(), "timestamp"].dt.normalize().unique()
    if len(known_days) <= backtest_days + 7:
        raise DataError(
            f"{market}: {len(known_days)} days with known prices, too few for a "
            f"{backtest_days}-day backtest",
            field="--backtest-days",
            rule="more known days than the backtest plus a week of training",
        )
    end = pd.Timestamp(np.sort(known_days)[-1])
    start = end - pd.Timedelta(days=backtest_days - 1)
    outcome = TrainOutcome(market, list(chosen.values()), "")
    naive = features["price_lag_7d"]
    columns = feature_columns(features)
    tags = lineage_tags(
        project.root,
        snapshots=list(chosen.values()),
        checks=checks,
        checks_passed=checks_passed,
        feature_view=PriceFeatures().ref,
    )
    experiment = f"{project.settings.project.name}/energy-price-{market}"
    results: dict[str, Any] = {}
    finals: dict[str, Any] = {}
    for name in _members_first(models):
        blend = make(name)
        if isinstance(blend, Blend) and all(m in results for m in blend.members):
            # The members were just backtested and fit on the same rows: combine them rather
            # than fit each a second time (Blend.fit would give the same numbers).
            parts = [results[m].predictions for m in blend.members]
            mixed = combine([p[["p10", "p50", "p90"]] for p in parts], blend.weights)
            result = replace(results[blend.members[0]], predictions=parts[0].assign(**mixed))
            final = Blend.of([finals[m] for m in blend.members], blend.weights)
        else:
            result = backtest(
                features,
                lambda name=name: make(name),
                start=start,
                end=end,
                recalibrate=recalibrate,
                train_days=train_days,
                description=f"{market} {name} backtest",
            )
            final = make(name).fit(_recent(features, train_days))
        results[name], finals[name] = result, final
        outcome.window = result.window
        metrics = _metrics(result.predictions, naive)
        outcome.metrics[name] = metrics
        with tracked_run(
            project,
            experiment,
            f"{market}-{name}",
            tags={
                **tags,
                **_REPORT_TAGS,
                TAG_WINDOW: result.window,
                "helio.market": market,
                "helio.model": name,
            },
        ) as run:
            mlflow.log_params(
                {
                    "market": market,
                    "model": name,
                    "recalibrate": recalibrate,
                    "train_days": train_days,
                    "backtest_days": backtest_days,
                    **{f"model.{k}": v for k, v in final.params().items()},
                }
            )
            mlflow.log_metrics({metric_key(k): v for k, v in metrics.items() if not math.isnan(v)})
            mlflow.log_metric("backtest_fits", result.fits)
            for path, fig in _plots(result.predictions, name).items():
                mlflow.log_figure(fig, path)
            _log_predictions(result.predictions)
            from ._pyfunc import PriceForecaster

            example = features[columns].tail(5).astype(float)
            output = PriceForecaster(final, columns).predict(None, example)
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=PriceForecaster(final, columns),
                signature=infer_signature(example, output),
                input_example=example,
                pip_requirements=[f"heliograph=={__version__}"],
            )
            outcome.runs[name] = run.info.run_id
            outcome.model_uris[name] = info.model_uri
        log.info("%s %s: %s", market, name, metrics)
    policy = project.settings.policy
    sign = 1 if policy.direction == "minimize" else -1

    def score(name: str) -> float:
        value = outcome.metrics[name].get(policy.metric, math.nan)
        return math.inf if math.isnan(value) else sign * value

    outcome.metrics = {name: outcome.metrics[name] for name in models}  # the order asked for
    outcome.best = min(models, key=score)
    outcome.checks_passed = checks_passed
    if register:
        registry = Registry(project)
        _rescore_champion(
            project, registry, market, features, start, end, naive, experiment, tags, outcome.window
        )
        why = reason or (
            f"trained on {', '.join(chosen.values())}; best of "
            f"{', '.join(models)} by {policy.metric}"
        )
        outcome.version = registry.register(
            model_name(market), outcome.model_uris[outcome.best], reason=why
        )
    return outcome
