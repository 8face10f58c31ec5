"""The business metric of the energy reference system: what a battery earns trading on a forecast.

A battery (by default 1 MW / 2 MWh, 90 % round-trip efficiency) trades on the day-ahead market.
Before each day starts it commits to one cycle: charge for ``capacity / power`` hours, then
discharge for as long, both blocks chosen from *forecast* prices only. It is then paid at the
*actual* prices. The same battery with perfect foresight (scheduling on the actuals) gives the
most that day could have earned; ``capture = revenue / perfect_revenue`` says how much of it the
forecast secured. Revenue can be negative: a wrong forecast makes the battery buy dear and sell
cheap.

>>> index = pd.date_range("2024-01-01", periods=24, freq="h", tz="UTC")
>>> actual = pd.Series([50.0] * 24, index=index)
>>> actual.iloc[3:5], actual.iloc[18:20] = 10.0, 100.0
>>> battery_value(actual, actual)["capture"]
1.0
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["battery_value", "schedule_day"]

_HOURS_PER_DAY = 24.0


def _check_battery(power_mw: float, capacity_mwh: float, efficiency: float) -> None:
    if not power_mw > 0 or not capacity_mwh > 0:
        raise ValueError(
            f"power_mw and capacity_mwh must be positive, got {power_mw} and {capacity_mwh}"
        )
    if not 0 < efficiency <= 1:
        raise ValueError(f"efficiency must be in (0, 1], got {efficiency}")


def _block_periods(period_hours: float, power_mw: float, capacity_mwh: float) -> int:
    """Periods in one charge (or discharge) block: ``capacity / power / period_hours``."""
    if not period_hours > 0:
        raise ValueError(f"period_hours must be positive, got {period_hours}")
    hours = capacity_mwh / power_mw
    periods = hours / period_hours
    whole = round(periods)
    if whole < 1 or not math.isclose(periods, whole, rel_tol=1e-9, abs_tol=1e-9):
        raise ValueError(
            f"a {capacity_mwh} MWh / {power_mw} MW battery runs {hours:g} h per block, "
            f"which is not a whole number of {period_hours:g} h periods"
        )
    return whole


def _revenue(
    prices: np.ndarray, blocks: tuple[slice, slice], energy: float, efficiency: float
) -> float:
    charge, discharge = blocks
    return float(energy * (efficiency * prices[discharge].sum() - prices[charge].sum()))


def schedule_day(
    prices: np.ndarray,
    *,
    period_hours: float,
    power_mw: float = 1.0,
    capacity_mwh: float = 2.0,
    efficiency: float = 0.9,
) -> tuple[slice, slice] | None:
    """The most profitable (charge, discharge) blocks of one day's prices, or None not to trade.

    Each block lasts ``capacity_mwh / power_mw`` hours; the discharge block starts after the
    charge block ends. Profit is ``efficiency * sum(discharge prices) * power * period_hours -
    sum(charge prices) * power * period_hours`` (the round-trip loss is taken on discharge).
    Returns None when no schedule has a positive profit or the day is too short for two blocks.
    Raises ``ValueError`` if a block is not a whole number of periods or a price is NaN.

    >>> schedule_day(np.array([30.0, 10.0, 20.0, 90.0]), period_hours=1.0, capacity_mwh=1.0)
    (slice(1, 2, None), slice(3, 4, None))
    """
    _check_battery(power_mw, capacity_mwh, efficiency)
    k = _block_periods(period_hours, power_mw, capacity_mwh)
    prices = np.asarray(prices, dtype=float).ravel()
    if np.isnan(prices).any():
        raise ValueError("prices contain NaN; a schedule needs every period's price")
    if len(prices) < 2 * k:
        return None
    block = sliding_window_view(prices, k).sum(axis=1)  # block[i] = sum(prices[i:i + k])
    # Discharge block j can follow any charge block i <= j - k: pair j with the cheapest of those.
    cheapest = np.minimum.accumulate(block)
    gains = efficiency * block[k:] - cheapest[: len(block) - k]
    j = int(np.argmax(gains)) + k
    if gains[j - k] * power_mw * period_hours <= 0:
        return None
    i = int(np.argmin(block[: j - k + 1]))
    return slice(i, i + k), slice(j, j + k)


def _period_hours(index: pd.DatetimeIndex) -> float:
    steps = np.diff(index.asi8)  # nanoseconds, or the index's own unit
    unit_per_hour = pd.Timedelta(hours=1) / pd.Timedelta(1, unit=index.unit)
    return float(np.median(steps)) / unit_per_hour


def _validate_series(actual: pd.Series, forecast: pd.Series) -> pd.DatetimeIndex:
    for name, series in (("actual", actual), ("forecast", forecast)):
        if not isinstance(series, pd.Series) or not isinstance(series.index, pd.DatetimeIndex):
            raise ValueError(f"{name} must be a pandas Series indexed by a DatetimeIndex")
        if series.index.tz is None:
            raise ValueError(f"{name} must have a tz-aware DatetimeIndex (e.g. UTC)")
    if not actual.index.equals(forecast.index):
        raise ValueError("actual and forecast must have the same index")
    if actual.index.has_duplicates:
        raise ValueError("the index has duplicate timestamps; pass one market at a time")
    return actual.index


def battery_value(
    actual: pd.Series,
    forecast: pd.Series,
    *,
    power_mw: float = 1.0,
    capacity_mwh: float = 2.0,
    efficiency: float = 0.9,
) -> dict[str, Any]:
    """What a battery earns at ``actual`` prices trading one cycle a day on ``forecast``.

    Both Series share one tz-aware DatetimeIndex (a single market). Days are UTC calendar days;
    the period length is the median spacing of the index. A day is evaluated only when all its
    periods are present with both prices known; other days are skipped and counted. Returns
    ``revenue`` (€, from the forecast schedule), ``perfect_revenue`` (€, scheduling on the
    actuals), ``capture`` (``revenue / perfect_revenue``, NaN when ``perfect_revenue <= 0``),
    ``days`` (evaluated), ``days_traded`` (days the forecast schedule traded) and
    ``days_skipped`` (incomplete days).

    >>> index = pd.date_range("2024-01-01", periods=48, freq="30min", tz="UTC")
    >>> prices = pd.Series(np.r_[np.full(8, 20.0), np.full(40, 60.0)], index=index)
    >>> battery_value(prices, prices)["revenue"]  # 2 MWh at 20, sold at 60 * 0.9: 108 - 40
    68.0
    """
    _check_battery(power_mw, capacity_mwh, efficiency)
    index = _validate_series(actual, forecast)
    result: dict[str, Any] = {
        "revenue": 0.0,
        "perfect_revenue": 0.0,
        "capture": math.nan,
        "days": 0,
        "days_traded": 0,
        "days_skipped": 0,
    }
    if len(index) < 2:
        result["days_skipped"] = len(index)  # a lone period is an incomplete day
        return result

    period_hours = _period_hours(index.sort_values())
    _block_periods(period_hours, power_mw, capacity_mwh)
    per_day = _HOURS_PER_DAY / period_hours
    if not math.isclose(per_day, round(per_day), abs_tol=1e-9):
        raise ValueError(f"a {period_hours:g} h period does not divide a day")
    per_day = round(per_day)

    frame = pd.DataFrame(
        {
            "actual": actual.to_numpy(dtype=float, na_value=np.nan),
            "forecast": forecast.to_numpy(dtype=float, na_value=np.nan),
        },
        index=index.tz_convert("UTC"),
    ).sort_index()
    day = frame.index.floor("D")
    energy = power_mw * period_hours
    options = {"power_mw": power_mw, "capacity_mwh": capacity_mwh, "efficiency": efficiency}
    revenue = perfect = 0.0
    for _, rows in frame.groupby(day, sort=True):
        if len(rows) != per_day or rows.isna().to_numpy().any():
            result["days_skipped"] += 1
            continue
        prices = rows["actual"].to_numpy()
        result["days"] += 1
        plan = schedule_day(rows["forecast"].to_numpy(), period_hours=period_hours, **options)
        if plan is not None:
            result["days_traded"] += 1
            revenue += _revenue(prices, plan, energy, efficiency)
        best = schedule_day(prices, period_hours=period_hours, **options)
        if best is not None:
            perfect += _revenue(prices, best, energy, efficiency)

    result["revenue"] = revenue
    result["perfect_revenue"] = perfect
    result["capture"] = revenue / perfect if perfect > 0 else math.nan
    return result
