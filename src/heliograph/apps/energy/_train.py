"""Training the price forecasters of one market: the energy app's declaration of the pipeline.

The platform (``heliograph.training.train``) does snapshots → checks → backtest → MLflow →
registry; this module says what is energy's: the requests (every delivery period of the
market's days), the candidates, the metrics (with rMAE against the weekly naive and the
battery's capture) and the plots. The best is registered as ``energy-price-<MARKET>``.

Example::

    outcome = train_market(project, "GB")
    outcome.version, outcome.best, outcome.metrics[outcome.best]["mae"]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from heliograph.core import DataError, Project, UsageError
from heliograph.features import FeatureView
from heliograph.lake import Lake
from heliograph.metrics import forecast_metrics
from heliograph.training import (
    Candidate,
    TrainingPipeline,
    TrainingProgress,
    TrainOutcome,
    train,
)

from ._battery import battery_value
from ._blend import Blend, combine
from ._catalogue import make_model
from ._features import PriceFeatures, feature_columns, forecast_requests
from ._price_model import MODEL_NAMES, PREDICTION_COLUMNS

__all__ = ["markets", "model_name", "price_pipeline", "train_market"]

MODEL_PREFIX = "energy-price"
# What the logged metrics mean, in the order reports show them (the CI report's table, plots).
METRICS_SHOWN: dict[str, dict[str, Any]] = {
    "mae": {"unit": "€/MWh", "better": "lower"},
    "rmse": {"unit": "€/MWh", "better": "lower"},
    "smape": {"unit": "%", "better": "lower"},
    "rmae": {"unit": "ratio", "better": "lower"},
    "pinball_q50": {"unit": "€/MWh", "better": "lower"},
    "coverage_80": {"unit": "share", "better": 0.8},
    "battery_capture": {"unit": "share", "better": "higher"},
}
PREDICTIONS_PLOT = {
    "time": "timestamp",
    "actual": "target",
    "forecast": "p50",
    "low": "p10",
    "high": "p90",
    "unit": "€/MWh",
}


def model_name(market: str) -> str:
    return f"{MODEL_PREFIX}-{market}"


def _markets_in(lake: Lake, snapshot: str | None) -> pd.DataFrame:
    return lake.read("energy_prices", snapshot=snapshot, columns=["market", "timestamp"])


def markets(lake: Lake) -> list[str]:
    """The markets with prices in the lake, sorted: what ``helio train energy`` trains."""
    return sorted(_markets_in(lake, None)["market"].unique())


def _requests(lake: Lake, snapshots: Mapping[str, str], market: str | None) -> pd.DataFrame:
    """A forecast request for every period of every day of the market with 8 days before it."""
    prices = _markets_in(lake, snapshots["energy_prices"])
    known = sorted(prices["market"].unique())
    if market is None or market not in known:
        raise UsageError(
            f"unknown market {market!r} in {snapshots['energy_prices']}",
            field="--market",
            rule="one of " + (", ".join(known) or "(none)"),
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
    return forecast_requests([market], days, freq)


def _metrics(predictions: pd.DataFrame, features: pd.DataFrame) -> dict[str, float]:
    naive = features["price_lag_7d"]
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


def _candidate(name: str, make: Callable[[str], Any]) -> Candidate:
    model = make(name)
    if not isinstance(model, Blend):
        return Candidate(name, lambda: make(name))
    weights = model.weights
    return Candidate(
        name,
        lambda: make(name),
        members=model.members,
        # The members' backtests, combined: what a backtest of the blend itself gives.
        combine=lambda parts: combine([p[list(PREDICTION_COLUMNS)] for p in parts], weights),
        assemble=lambda fitted: Blend.of(fitted, weights),
    )


def price_pipeline(make: Callable[[str], Any] | None = None) -> TrainingPipeline:
    """The energy price models' training pipeline (``make`` builds a model by name)."""
    make = make or make_model
    view: FeatureView = PriceFeatures()
    return TrainingPipeline(
        name=MODEL_PREFIX,
        feature_view=view,
        requests=_requests,
        candidates=[_candidate(name, make) for name in MODEL_NAMES],
        metrics=_metrics,
        keys=("market",),
        outputs=PREDICTION_COLUMNS,
        plots=_plots,
        feature_columns=feature_columns,
        subject="market",
        description="day-ahead price forecasts, one model per market",
        metric_descriptions=METRICS_SHOWN,
        predictions_plot=PREDICTIONS_PLOT,
    )


def train_market(
    project: Project,
    market: str,
    *,
    snapshots: Sequence[str] = (),
    models: Sequence[str] = MODEL_NAMES,
    backtest_days: int = 56,
    recalibrate: str | int = "weekly",
    train_days: int | None = 365,
    reference_days: int = 56,
    register: bool = True,
    allow_failed_checks: bool = False,
    reason: str = "",
    make: Callable[[str], Any] | None = None,
    progress: Callable[[TrainingProgress], None] | None = None,
) -> TrainOutcome:
    """Backtest, log and register the price models of one market (see module doc)."""
    return train(
        project,
        price_pipeline(make),
        market,
        candidates=models,
        snapshots=snapshots,
        backtest_days=backtest_days,
        recalibrate=recalibrate,
        train_days=train_days,
        reference_days=reference_days,
        register=register,
        allow_failed_checks=allow_failed_checks,
        reason=reason,
        progress=progress,
    )
