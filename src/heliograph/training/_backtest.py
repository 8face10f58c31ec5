"""Rolling-origin (walk-forward) backtests: fit on what was known, forecast what came next.

The test period is cut into blocks of ``recalibrate`` days. Before each block the model is fit
afresh on every row whose label was known at the block's first forecast origin (and, with
``train_days``, only on the most recent ones), then forecasts the block. Nothing from a block
can reach the model that forecasts it.

The feature frame is a feature view's output: the request's key columns, ``timestamp`` (the
target time), ``as_of`` (when the forecast is made), ``target`` and ``target_available_at``
(the label and when it became known), then the features. The predictions keep ``keys``,
``timestamp``, ``as_of`` and ``target`` beside every column the model predicts.

Example::

    result = backtest(features, lambda: Ridge(alpha=1.0), start="2025-03-01",
                      end="2025-05-31", recalibrate="weekly", keys=("meter",))
    result.predictions[["meter", "timestamp", "target", "load"]].head()
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from heliograph.compute import Engine
from heliograph.core import DataError, track

__all__ = ["CADENCES", "BacktestResult", "Forecaster", "backtest", "cadence_days"]

CADENCES = {"daily": 1, "weekly": 7, "monthly": 28}


class Forecaster(Protocol):
    """What a backtest needs of a model: ``predict`` returns one row per input row, same index."""

    def fit(self, frame: pd.DataFrame) -> Any: ...

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame: ...


@dataclass
class BacktestResult:
    predictions: pd.DataFrame  # keys, timestamp, as_of, target, then the model's columns
    start: pd.Timestamp
    end: pd.Timestamp
    recalibrate: str
    fits: int

    @property
    def window(self) -> str:
        """The test window as text: two runs are comparable only on the same window."""
        return f"{self.start:%Y-%m-%d}..{self.end:%Y-%m-%d}"


def cadence_days(recalibrate: str | int) -> int:
    if isinstance(recalibrate, int) or str(recalibrate).isdigit():
        days = int(recalibrate)
    elif recalibrate in CADENCES:
        days = CADENCES[str(recalibrate)]
    else:
        raise DataError(
            f"unknown recalibration cadence {recalibrate!r}",
            field="recalibrate",
            rule="daily, weekly, monthly or a number of days",
        )
    if days < 1:
        raise DataError(
            "recalibration cadence must be at least one day", field="recalibrate", rule="≥ 1 day"
        )
    return days


@dataclass(frozen=True)
class _Fold:
    """One block of a walk-forward backtest: fit on what was known, forecast the block.

    A module-level callable (not a closure), so that an engine can send it to a worker once
    and call it for each block there."""

    features: pd.DataFrame
    make_model: Callable[[], Forecaster]
    train_days: int | None
    identifiers: list[str]
    outputs: list[str] | None

    def __call__(self, block: np.ndarray) -> pd.DataFrame:
        features = self.features
        rows = features.loc[features["timestamp"].dt.normalize().isin(block)]
        origin = rows["as_of"].min()
        known = features["target"].notna() & features["target_available_at"].notna()
        train_mask = known & (features["target_available_at"] <= origin)
        if self.train_days is not None:
            train_mask &= features["timestamp"] >= origin - pd.Timedelta(days=self.train_days)
        train = features.loc[train_mask]
        if train.empty:
            raise DataError(
                f"nothing to train on before {origin:%Y-%m-%d %H:%M}",
                field="training window",
                rule="labels known before the first forecast origin",
            )
        model = self.make_model()
        model.fit(train)
        predicted = model.predict(rows)
        if self.outputs is not None:
            predicted = predicted[self.outputs]
        return pd.concat([rows[self.identifiers], predicted], axis=1)


def backtest(
    features: pd.DataFrame,
    make_model: Callable[[], Forecaster],
    *,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    recalibrate: str | int = "weekly",
    train_days: int | None = None,
    description: str = "backtest",
    keys: Sequence[str] = (),
    outputs: Sequence[str] | None = None,
    engine: Engine | None = None,
) -> BacktestResult:
    """Walk forward over the days ``start``..``end`` (inclusive, UTC dates) of ``timestamp``.

    ``keys``: the identifier columns to keep beside the predictions (and sort them by);
    ``outputs``: the model's columns to keep (default: all it predicts); ``engine``: where the
    blocks' fits run, in parallel (``heliograph.compute``; default: here, one after another).
    Every block gets a fresh model from ``make_model``, so the predictions are the same on
    every engine; a factory that hands back one stateful model must run with no engine.
    """
    step = cadence_days(recalibrate)
    start_ts, end_ts = (
        pd.Timestamp(t).tz_localize("UTC") if pd.Timestamp(t).tz is None else pd.Timestamp(t)
        for t in (start, end)
    )
    day = features["timestamp"].dt.normalize()
    in_test = (day >= start_ts) & (day <= end_ts)
    days = np.sort(day[in_test].unique())
    if len(days) == 0:
        raise DataError(
            f"no rows to forecast between {start_ts:%Y-%m-%d} and {end_ts:%Y-%m-%d}",
            field="backtest window",
            rule="the window holds delivery days",
        )
    blocks = [days[i : i + step] for i in range(0, len(days), step)]
    fold = _Fold(
        features,
        make_model,
        train_days,
        [*keys, "timestamp", "as_of", "target"],
        None if outputs is None else list(outputs),
    )
    if engine is None:
        blocks_out = [fold(block) for block in track(blocks, description)]
    else:
        blocks_out = engine.map(fold, blocks)
    return BacktestResult(
        pd.concat(blocks_out).sort_values([*keys, "timestamp"]),
        start_ts,
        end_ts,
        str(recalibrate),
        len(blocks),
    )
