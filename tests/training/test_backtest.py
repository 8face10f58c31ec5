"""Walk-forward backtests never let a model see a label from the block it forecasts."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from heliograph.core import DataError
from heliograph.training import backtest, cadence_days


def frame(days: int = 40) -> pd.DataFrame:
    stamps = pd.date_range("2025-01-01", periods=24 * days, freq="1h", tz="UTC")
    day = stamps.normalize()
    return pd.DataFrame(
        {
            "market": "GB",
            "timestamp": stamps,
            "as_of": day - pd.Timedelta(days=1) + pd.Timedelta(hours=10),
            "target": np.arange(len(stamps), dtype=float),
            "target_available_at": day - pd.Timedelta(days=1) + pd.Timedelta(hours=11),
        }
    )


class Spy:
    """Predicts the mean training label; remembers what it was trained on."""

    name = "spy"
    seen: ClassVar[list[tuple[pd.Timestamp, pd.Timestamp]]] = []

    def fit(self, train: pd.DataFrame) -> Spy:
        self.newest = train["target_available_at"].max()
        self.mean = float(train["target"].mean())
        return self

    def predict(self, rows: pd.DataFrame) -> pd.DataFrame:
        assert self.newest <= rows["as_of"].min(), "trained on a label not known at the origin"
        Spy.seen.append((rows["as_of"].min(), self.newest))
        return pd.DataFrame(
            {"p10": self.mean, "p50": self.mean, "p90": self.mean}, index=rows.index
        )


def test_each_block_is_fit_only_on_labels_known_at_its_origin() -> None:
    Spy.seen = []
    result = backtest(frame(), Spy, start="2025-01-20", end="2025-02-02", recalibrate="weekly")
    assert result.fits == 2 and len(Spy.seen) == 2
    assert result.window == "2025-01-20..2025-02-02"
    assert len(result.predictions) == 14 * 24
    # The block starting 01-27 (origin 01-26 10:00) may use labels of 01-26 (known 01-25 11:00)
    origin, newest = Spy.seen[1]
    assert origin == pd.Timestamp("2025-01-26 10:00", tz="UTC")
    assert newest == pd.Timestamp("2025-01-25 11:00", tz="UTC")


def test_daily_recalibration_and_train_window() -> None:
    Spy.seen = []
    result = backtest(
        frame(), Spy, start="2025-01-20", end="2025-01-24", recalibrate="daily", train_days=3
    )
    assert result.fits == 5
    first_mean = result.predictions["p50"].iloc[0]
    # The first block's origin is 01-19 10:00: it trains on the 3 days before that origin
    # whose labels were known by then (01-20's prices are published at 11:00, too late).
    data = frame()
    window = data[
        (data["timestamp"] >= pd.Timestamp("2025-01-16 10:00", tz="UTC"))
        & (data["target_available_at"] <= pd.Timestamp("2025-01-19 10:00", tz="UTC"))
    ]
    assert first_mean == pytest.approx(window["target"].mean())


def test_bad_windows_and_cadences_are_clear_errors() -> None:
    with pytest.raises(DataError, match="no rows to forecast"):
        backtest(frame(), Spy, start="2026-01-01", end="2026-01-31")
    with pytest.raises(DataError, match="nothing to train on"):
        backtest(frame(), Spy, start="2025-01-01", end="2025-01-05")
    with pytest.raises(DataError, match="unknown recalibration cadence"):
        cadence_days("hourly")
    assert cadence_days("weekly") == 7 and cadence_days(3) == 3
