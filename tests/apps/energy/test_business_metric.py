"""The energy app's business metric, as the monitor job computes it from judged predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from heliograph.apps.energy import app, battery_capture, battery_value
from heliograph.monitoring import app_business_metrics, performance


def judged(days: int = 3, noise: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """Each half-hour target forecast twice: the day before (day-ahead) and an hour before."""
    rng = np.random.default_rng(seed)
    targets = pd.date_range("2025-06-01", periods=48 * days, freq="30min", tz="UTC")
    actual = (
        60 + 30 * np.sin(np.arange(len(targets)) / 48 * 2 * np.pi) + rng.normal(0, 3, len(targets))
    )
    day_ahead = pd.DataFrame(
        {
            "target_time": targets,
            "as_of": targets.floor("D") - pd.Timedelta(hours=12),
            "p50": actual + rng.normal(0, noise, len(targets)),
            "actual": actual,
        }
    )
    # the intraday forecasts are perfect, but a battery committed before the day: not counted
    hour_before = np.maximum(targets - pd.Timedelta(hours=1), targets.floor("D"))
    intraday = day_ahead.assign(as_of=hour_before, p50=actual)
    frame = pd.concat([day_ahead, intraday], ignore_index=True)
    return frame.assign(model_name="energy-price-GB", model_version="3", role="champion")


def test_battery_capture_uses_the_day_ahead_forecasts() -> None:
    frame = judged(noise=15.0)
    day_ahead = frame[frame["as_of"] < frame["target_time"].dt.floor("D")].set_index("target_time")
    expected = battery_value(day_ahead["actual"], day_ahead["p50"])["capture"]
    assert battery_capture(frame) == pytest.approx(expected)
    assert battery_capture(judged(noise=0.0)) == pytest.approx(1.0)


def test_the_app_declares_it_and_the_platform_computes_it_per_version() -> None:
    metric = app_business_metrics([app])["price-forecast"]
    assert metric.name == "battery_capture" and metric.direction == "maximize"
    table = performance(judged(noise=15.0), business=metric.compute, business_name=metric.name)
    assert table["battery_capture"].iloc[0] == pytest.approx(battery_capture(judged(noise=15.0)))


def test_no_day_ahead_forecast_is_a_value_error() -> None:
    frame = judged()
    with pytest.raises(ValueError):
        battery_capture(frame[frame["as_of"] >= frame["target_time"].dt.floor("D")])
