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

The trader's decision is the other half (``Battery``, ``dispatch``, ``value_spread``): a
configured battery's charge/discharge schedule over a forecast's periods, the linear programme
solved by HiGHS (``scipy.optimize.linprog``), and the P10-P90 spread of its value over price
scenarios drawn from the forecast's quantiles.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from scipy import sparse
from scipy.optimize import linprog
from scipy.stats import norm

from heliograph.core import ConfigError

__all__ = [
    "Battery",
    "Dispatch",
    "battery_settings",
    "battery_value",
    "dispatch",
    "price_scenarios",
    "schedule_day",
    "value_spread",
]

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


# -- the trader's decision: a schedule for a configured battery --------------------------------

BATTERY_SECTION = "apps.energy.battery"
"""Where ``helio.toml`` configures the battery (``[apps.energy.battery]``)."""


_TIE_BREAK = 1e-4  # €/MWh: breaks ties, never a real trade-off


class Battery(BaseModel):
    """A battery: ``capacity_mwh`` stored at most, ``power_mw`` in or out at the grid,
    ``efficiency`` the round trip (1 MWh charged gives back ``efficiency`` MWh), and the
    state of charge at the start of a schedule (``initial_soc``, a fraction of capacity),
    which a schedule leaves at least as full as it found it.

    >>> Battery(capacity_mwh=4, power_mw=2).initial_mwh
    2.0
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    capacity_mwh: float = Field(default=2.0, gt=0, allow_inf_nan=False)
    power_mw: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    efficiency: float = Field(default=0.9, gt=0, le=1)
    initial_soc: float = Field(default=0.5, ge=0, le=1)

    @property
    def initial_mwh(self) -> float:
        return self.initial_soc * self.capacity_mwh


def battery_settings(apps: Mapping[str, Any]) -> Battery:
    """The battery of ``[apps.energy.battery]`` (``project.settings.apps``); defaults when
    the section is absent. A bad value is a ``ConfigError`` naming the key and the rule.

    >>> battery_settings({"energy": {"battery": {"power_mw": 2}}}).power_mw
    2.0
    """
    given = apps.get("energy", {}).get("battery", {})
    try:
        return Battery.model_validate(given)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(p) for p in error["loc"])
        message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        raise ConfigError(
            f"invalid configuration key {BATTERY_SECTION}.{key}: {message}",
            field=f"{BATTERY_SECTION}.{key}",
            rule=message,
        ) from None


@dataclass(frozen=True)
class Dispatch:
    """A schedule: per period, ``charge_mw`` and ``discharge_mw`` at the grid, ``net_mw``
    (discharge - charge: what the grid receives) and ``soc_mwh`` at the period's end;
    ``value`` at the prices it was planned on, ``sum(price * net_mw) * period_hours``."""

    charge_mw: np.ndarray
    discharge_mw: np.ndarray
    soc_mwh: np.ndarray
    period_hours: float
    value: float

    @property
    def net_mw(self) -> np.ndarray:
        return self.discharge_mw - self.charge_mw

    def value_at(self, prices: np.ndarray) -> np.ndarray:
        """The schedule's value at each row of ``prices`` (periods along the last axis)."""
        return np.asarray(prices, dtype=float) @ self.net_mw * self.period_hours


def dispatch(prices: np.ndarray, battery: Battery, period_hours: float) -> Dispatch:
    """The schedule that earns most at ``prices`` (€/MWh per period): a linear programme.

    Charging ``c`` MW for a period stores ``c * period_hours`` MWh; discharging ``d`` MW draws
    ``d * period_hours / efficiency`` MWh from store; the store stays within
    ``[0, capacity_mwh]``, power within ``[0, power_mw]``, and it ends at least at
    ``initial_soc``. Solved by HiGHS (``scipy.optimize.linprog``).

    >>> plan = dispatch(np.array([10.0, 90.0]), Battery(capacity_mwh=1, initial_soc=0), 1.0)
    >>> plan.net_mw.round(3).tolist(), round(plan.value, 3)
    ([-1.0, 0.9], 71.0)
    """
    prices = np.asarray(prices, dtype=float).ravel()
    if not period_hours > 0:
        raise ValueError(f"period_hours must be positive, got {period_hours}")
    if not np.isfinite(prices).all():
        raise ValueError("prices contain NaN or infinity; a schedule needs every period's price")
    n = len(prices)
    if n == 0:
        raise ValueError("no periods to schedule")
    dt, eta, start = period_hours, battery.efficiency, battery.initial_mwh
    # x = [charge (n), discharge (n), soc (n)]; maximise sum(p * (d - c)) * dt
    # plus a hair's cost per MWh moved, so that among equal schedules the solver moves least
    # (no cycling between equal prices, no charging and discharging in one period)
    wear = _TIE_BREAK * dt
    cost = np.concatenate([prices * dt + wear, -prices * dt + wear, np.zeros(n)])
    eye = sparse.eye(n, format="csr")
    previous = sparse.eye(n, k=-1, format="csr")  # soc[t-1] for t >= 1
    # soc[t] - soc[t-1] - c[t] dt + d[t] dt / eta = 0 (soc[-1] = start)
    a_eq = sparse.hstack([-dt * eye, (dt / eta) * eye, eye - previous], format="csr")
    b_eq = np.zeros(n)
    b_eq[0] = start
    power = (0.0, battery.power_mw)
    bounds = [power] * (2 * n) + [(0.0, battery.capacity_mwh)] * (n - 1)
    bounds.append((start, battery.capacity_mwh))
    solved = linprog(cost, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if solved.status != 0:
        raise ValueError(f"the battery schedule could not be solved: {solved.message}")
    charge, discharge, soc = np.split(np.clip(solved.x, 0.0, None), 3)
    plan = Dispatch(charge, discharge, soc, dt, 0.0)
    return Dispatch(charge, discharge, soc, dt, float(plan.value_at(prices)))


_SCENARIOS = 1000
_SCENARIO_SEED = 20241202
_PERSISTENCE = 0.9  # correlation of a scenario's forecast error from one period to the next


def price_scenarios(
    quantiles: Mapping[float, np.ndarray], *, count: int = _SCENARIOS, seed: int = _SCENARIO_SEED
) -> np.ndarray:
    """``count`` price paths (rows) consistent with per-period forecast quantiles.

    ``quantiles`` maps a level (0.1, 0.5, 0.9) to its prices per period. Each path's levels
    follow a Gaussian AR(1) across periods (``_PERSISTENCE``: a forecast that is too low at
    one period tends to be too low at the next), mapped through each period's quantile
    function: linear between the given quantiles, extended linearly beyond the outer two.
    Seeded: the same forecast gives the same paths.
    """
    levels = np.array(sorted(quantiles), dtype=float)
    if len(levels) < 2 or levels[0] <= 0 or levels[-1] >= 1:
        raise ValueError("need at least two quantile levels inside (0, 1)")
    values = np.sort(np.vstack([np.asarray(quantiles[q], dtype=float) for q in levels]), axis=0)
    n = values.shape[1]
    rng = np.random.default_rng(seed)
    shocks = rng.standard_normal((count, n))
    z = np.empty_like(shocks)
    z[:, 0] = shocks[:, 0]
    scale = math.sqrt(1 - _PERSISTENCE**2)
    for t in range(1, n):
        z[:, t] = _PERSISTENCE * z[:, t - 1] + scale * shocks[:, t]
    u = norm.cdf(z)
    # piecewise-linear quantile function per period, with the end segments extended
    segment = np.clip(np.searchsorted(levels, u) - 1, 0, len(levels) - 2)
    lo, hi = levels[segment], levels[segment + 1]
    column = np.arange(n)
    v_lo, v_hi = values[segment, column], values[segment + 1, column]
    return v_lo + (u - lo) / (hi - lo) * (v_hi - v_lo)


def value_spread(values: np.ndarray) -> dict[str, float]:
    """A schedule's ``values`` over price scenarios (``Dispatch.value_at``) summarised:
    ``expected`` (the mean), ``p10``, ``p50`` and ``p90``."""
    values = np.asarray(values, dtype=float)
    p10, p50, p90 = np.quantile(values, [0.1, 0.5, 0.9])
    return {
        "expected": float(values.mean()),
        "p10": float(p10),
        "p50": float(p50),
        "p90": float(p90),
    }
