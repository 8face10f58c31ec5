"""The battery business metric: scheduling one cycle a day, and its value at actual prices."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from heliograph.apps.energy._battery import battery_value, schedule_day


def a_day() -> np.ndarray:
    """24 hourly prices: cheap at 03-05, dear at 18-20, 50 €/MWh otherwise."""
    prices = np.full(24, 50.0)
    prices[3:5] = 10.0
    prices[18:20] = 100.0
    return prices


def hourly(values: np.ndarray, start: str = "2024-01-01", tz: str = "UTC") -> pd.Series:
    index = pd.date_range(start, periods=len(values), freq="h", tz=tz)
    return pd.Series(values, index=index)


def half_hourly(hourly_values: np.ndarray, start: str = "2024-01-01") -> pd.Series:
    values = np.repeat(hourly_values, 2)
    index = pd.date_range(start, periods=len(values), freq="30min", tz="UTC")
    return pd.Series(values, index=index)


def brute_force(prices: np.ndarray, k: int, period_hours: float, efficiency: float) -> float:
    best = 0.0
    for i in range(len(prices) - k + 1):
        for j in range(i + k, len(prices) - k + 1):
            profit = efficiency * prices[j : j + k].sum() - prices[i : i + k].sum()
            best = max(best, profit * period_hours)
    return best


# --- schedule_day ----------------------------------------------------------------------------


def test_obvious_blocks_hourly() -> None:
    assert schedule_day(a_day(), period_hours=1.0) == (slice(3, 5), slice(18, 20))


def test_obvious_blocks_half_hourly() -> None:
    prices = np.repeat(a_day(), 2)
    assert schedule_day(prices, period_hours=0.5) == (slice(6, 10), slice(36, 40))


def test_charge_strictly_before_discharge() -> None:
    falling = np.linspace(100.0, 0.0, 24)  # the cheap hours come after the dear ones
    assert schedule_day(falling, period_hours=1.0) is None
    # Adjacent blocks are allowed: charge 0-1, discharge 2-3.
    assert schedule_day(np.array([0.0, 0.0, 90.0, 90.0]), period_hours=1.0) == (
        slice(0, 2),
        slice(2, 4),
    )


def test_flat_prices_do_not_trade() -> None:
    assert schedule_day(np.full(24, 42.0), period_hours=1.0) is None
    assert schedule_day(np.full(48, 42.0), period_hours=0.5, efficiency=1.0) is None
    assert schedule_day(np.zeros(24), period_hours=1.0, efficiency=1.0) is None


def test_efficiency_decides_a_thin_spread() -> None:
    prices = np.r_[np.full(12, 50.0), np.full(12, 52.0)]
    assert schedule_day(prices, period_hours=1.0, efficiency=1.0) is not None
    assert schedule_day(prices, period_hours=1.0, efficiency=0.9) is None  # 0.9*104 < 100


def test_negative_prices_pay_to_charge() -> None:
    prices = np.full(24, 0.0)
    prices[12:14] = -20.0  # charging is paid; discharging at 0 earns nothing, yet profit > 0
    assert schedule_day(prices, period_hours=1.0) == (slice(12, 14), slice(14, 16))


def test_too_short_a_day_does_not_trade() -> None:
    assert schedule_day(np.array([1.0, 2.0, 90.0]), period_hours=1.0) is None


@pytest.mark.parametrize("seed", range(20))
def test_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    prices = rng.normal(50, 30, 48)
    plan = schedule_day(prices, period_hours=0.5, efficiency=0.85)
    best = brute_force(prices, 4, 0.5, 0.85)
    if plan is None:
        assert best == 0.0
        return
    charge, discharge = plan
    assert charge.stop - charge.start == 4 and discharge.stop - discharge.start == 4
    assert charge.stop <= discharge.start
    profit = 0.5 * (0.85 * prices[discharge].sum() - prices[charge].sum())
    assert profit == pytest.approx(best)


@pytest.mark.parametrize(
    ("period_hours", "power_mw", "capacity_mwh"),
    [(1.0, 1.0, 1.5), (0.75, 1.0, 2.0), (0.5, 1.0, 0.25), (1.0, 2.0, 3.0)],
)
def test_block_must_be_whole_periods(period_hours, power_mw, capacity_mwh) -> None:
    with pytest.raises(ValueError, match="whole number"):
        schedule_day(
            np.zeros(48), period_hours=period_hours, power_mw=power_mw, capacity_mwh=capacity_mwh
        )


def test_bad_battery_or_prices_raise() -> None:
    with pytest.raises(ValueError, match="efficiency"):
        schedule_day(a_day(), period_hours=1.0, efficiency=1.2)
    with pytest.raises(ValueError, match="positive"):
        schedule_day(a_day(), period_hours=1.0, power_mw=0.0)
    with pytest.raises(ValueError, match="NaN"):
        schedule_day(np.r_[a_day()[:-1], np.nan], period_hours=1.0)


# --- battery_value ---------------------------------------------------------------------------


def test_revenue_of_an_obvious_day() -> None:
    actual = hourly(a_day())
    value = battery_value(actual, actual)
    # Buy 2 MWh at 10, sell 2 MWh * 0.9 at 100.
    assert value["revenue"] == pytest.approx(0.9 * 200 - 20)
    assert value == {
        "revenue": pytest.approx(160.0),
        "perfect_revenue": pytest.approx(160.0),
        "capture": 1.0,
        "days": 1,
        "days_traded": 1,
        "days_skipped": 0,
    }


def test_efficiency_effect() -> None:
    actual = hourly(a_day())
    assert battery_value(actual, actual, efficiency=1.0)["revenue"] == pytest.approx(180.0)
    assert battery_value(actual, actual, efficiency=0.5)["revenue"] == pytest.approx(80.0)
    # A bigger battery at the same power runs longer blocks into pricier hours.
    value = battery_value(actual, actual, capacity_mwh=4.0, efficiency=1.0)
    assert value["revenue"] == pytest.approx(200 + 100 - 20 - 100)


def many_days(n_days: int = 30, seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    hours = np.arange(24)
    shape = 50 + 25 * np.sin((hours - 9) / 24 * 2 * np.pi) + 15 * np.exp(-((hours - 19) ** 2) / 4)
    days = [shape * rng.uniform(0.7, 1.4) + rng.normal(0, 2, 24) for _ in range(n_days)]
    return hourly(np.concatenate(days))


def test_perfect_forecast_captures_everything() -> None:
    actual = many_days()
    value = battery_value(actual, actual)
    assert value["capture"] == 1.0
    assert value["days"] == value["days_traded"] == 30 and value["days_skipped"] == 0
    assert value["revenue"] == value["perfect_revenue"] > 0


def test_right_shape_wrong_level_still_captures() -> None:
    actual = many_days()
    rng = np.random.default_rng(1)
    biased = 1.3 * actual + 25 + rng.normal(0, 0.5, len(actual))
    value = battery_value(actual, biased)
    assert value["capture"] == pytest.approx(1.0, abs=0.03)
    assert value["days_traded"] == 30


def test_reversed_shape_loses_money() -> None:
    actual = many_days()
    reversed_shape = 2 * actual.mean() - actual  # peaks become troughs
    value = battery_value(actual, reversed_shape)
    assert value["revenue"] < 0
    assert value["perfect_revenue"] > 0
    assert value["capture"] < 0


def test_flat_day_does_not_trade() -> None:
    actual = hourly(np.r_[np.full(24, 40.0), a_day()])
    value = battery_value(actual, actual)
    assert value["days"] == 2 and value["days_traded"] == 1
    assert value["revenue"] == pytest.approx(160.0)
    flat = hourly(np.full(48, 40.0))
    value = battery_value(flat, flat)
    assert value["revenue"] == value["perfect_revenue"] == 0.0
    assert math.isnan(value["capture"]) and value["days_traded"] == 0


def test_flat_forecast_traded_nothing_but_perfect_would_have() -> None:
    actual = hourly(a_day())
    value = battery_value(actual, pd.Series(40.0, index=actual.index))
    assert value["revenue"] == 0.0 and value["capture"] == 0.0
    assert value["days"] == 1 and value["days_traded"] == 0


def test_incomplete_days_are_skipped() -> None:
    actual = hourly(np.tile(a_day(), 4))
    forecast = actual.copy()
    gapped = actual.drop(actual.index[30])  # day 2 misses an hour
    value = battery_value(gapped, forecast.drop(actual.index[30]))
    assert value["days"] == 3 and value["days_skipped"] == 1
    assert value["revenue"] == pytest.approx(3 * 160.0)
    forecast.iloc[80] = np.nan  # day 4 has an unknown forecast
    value = battery_value(actual, forecast)
    assert value["days"] == 3 and value["days_skipped"] == 1
    # A series starting and ending mid-day: both partial days are skipped.
    value = battery_value(actual.iloc[5:-5], actual.iloc[5:-5])
    assert value["days"] == 2 and value["days_skipped"] == 2


def test_days_are_utc_days() -> None:
    # Brussels midnight is 23:00 UTC (winter): the first UTC day holds one hour, the last 23.
    actual = hourly(np.tile(a_day(), 3), start="2024-01-01", tz="Europe/Brussels")
    value = battery_value(actual, actual)
    assert value["days"] == 2 and value["days_skipped"] == 2


def test_half_hourly_matches_hourly() -> None:
    prices = np.concatenate([a_day(), a_day()[::-1], np.full(24, 30.0)])
    by_hour = battery_value(hourly(prices), hourly(prices))
    by_half_hour = battery_value(half_hourly(prices), half_hourly(prices))
    assert by_half_hour["revenue"] == pytest.approx(by_hour["revenue"])
    # Day 2 has its peak early: the best it can do is charge at 50 before it (180 - 100).
    assert by_half_hour["revenue"] == pytest.approx(160.0 + 80.0)
    assert by_half_hour["days"] == by_hour["days"] == 3
    assert by_half_hour["days_traded"] == 2


def test_capacity_not_dividing_into_periods_raises() -> None:
    actual = hourly(a_day())
    with pytest.raises(ValueError, match="whole number"):
        battery_value(actual, actual, capacity_mwh=1.5)
    quarter = pd.Series(
        np.zeros(96), index=pd.date_range("2024-01-01", periods=96, freq="15min", tz="UTC")
    )
    assert battery_value(quarter, quarter, capacity_mwh=0.25)["days"] == 1  # one 15-min block
    with pytest.raises(ValueError, match="whole number"):
        battery_value(quarter, quarter, capacity_mwh=0.1)


def test_invalid_series_raise() -> None:
    actual = hourly(a_day())
    with pytest.raises(ValueError, match="tz-aware"):
        battery_value(actual.tz_localize(None), actual.tz_localize(None))
    with pytest.raises(ValueError, match="same index"):
        battery_value(actual, actual.iloc[:-1])
    with pytest.raises(ValueError, match="DatetimeIndex"):
        battery_value(pd.Series(a_day()), pd.Series(a_day()))


def test_empty_series() -> None:
    empty = pd.Series([], dtype=float, index=pd.DatetimeIndex([], tz="UTC"))
    value = battery_value(empty, empty)
    assert value["days"] == 0 and value["revenue"] == 0.0 and math.isnan(value["capture"])


def test_fast_enough_for_two_years() -> None:
    actual = many_days(730)
    value = battery_value(actual, actual.shift(168).bfill())
    assert value["days"] == 730
