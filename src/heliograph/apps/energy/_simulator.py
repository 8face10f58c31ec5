"""A deterministic, seeded simulator of day-ahead electricity markets.

It produces the three energy datasets (``energy_prices``, ``energy_forecasts``,
``energy_actuals``) for any set of markets, so that the reference system, its tests and its
demos run with no download. The same arguments always give bit-identical frames.

How a market is built, per period (all vectorised; AR processes run through ``lfilter``):

- demand: a level drawn per market, times a daily shape (morning and evening peaks, local
  time), a weekly shape (lower weekends and a few fixed holidays), an annual shape (winter
  high) and AR(1) noise;
- wind: a capacity factor ``sigmoid(seasonal mean + AR(1))``, so it is bounded in ``[0, cap]``;
- solar: zero at night, the sine of the sun's elevation by day (seasonal amplitude from the
  declination), attenuated by autocorrelated cloud;
- forecasts: the actuals plus autocorrelated forecast error (about 2 % for demand, 5 % of
  capacity for wind, 12 % for solar);
- price: the auction clears on the *forecasts* (as a real day-ahead auction does): a convex
  merit order of residual demand (demand − wind − solar) over available thermal capacity,
  scaled by a fuel cost that is a slow mean-reverting random walk shared by all markets. Tight
  hours spike to hundreds of €/MWh; hours where renewables exceed demand go negative.

>>> data = simulate(["GB", "DE"], "2024-01-01", "2024-01-31")
>>> sorted(data)
['energy_actuals', 'energy_forecasts', 'energy_prices']
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

__all__ = ["DEFAULT_SHIFTS", "RegimeShift", "simulate"]

_US_PER_DAY = 86_400_000_000
_US_PER_HOUR = 3_600_000_000
_REF_PERIOD_H = 0.5  # AR coefficients below are stated per half hour
_FORECAST_VARS = ("demand_forecast", "solar_forecast", "wind_forecast")  # sorted
_ACTUAL_VARS = ("demand", "solar", "wind")  # sorted
_HOLIDAYS = ((1, 1), (12, 25), (12, 26))  # (month, day): demand as on a Sunday
_SHIFT_KINDS = ("demand", "fuel")


@dataclass(frozen=True)
class RegimeShift:
    """A sudden, lasting change from date ``at`` onward.

    ``kind="demand"`` multiplies demand by ``factor`` (e.g. 0.85, a lost industrial load);
    ``kind="fuel"`` multiplies the fuel cost by ``factor`` (e.g. 1.6, a gas price shock).
    ``markets=None`` applies it to every market.

    >>> RegimeShift("2025-09-01", "fuel", 1.6, markets=("DE",))
    RegimeShift(at='2025-09-01', kind='fuel', factor=1.6, markets=('DE',))
    """

    at: str
    kind: Literal["demand", "fuel"]
    factor: float
    markets: tuple[str, ...] | None = None


DEFAULT_SHIFTS: tuple[RegimeShift, ...] = (
    RegimeShift("2025-03-01", "demand", 0.85),
    RegimeShift("2025-09-01", "fuel", 1.6),
)


@dataclass(frozen=True)
class _Market:
    """Per-market parameters, drawn from the seed and the market's name."""

    level: float  # mean demand, MW
    annual_amp: float  # winter/summer swing of demand
    weekend: float  # Sunday demand relative to a weekday
    utc_offset_h: float  # local time = UTC + offset (shifts peaks and solar noon)
    latitude: float  # degrees
    wind_cap: float  # MW
    wind_cf: float  # mean wind capacity factor
    solar_cap: float  # MW
    thermal_cap: float  # MW of dispatchable capacity
    fuel_sens: float  # €/MWh of marginal cost per unit of fuel index


def _market_rng(seed: int, market: str) -> np.random.Generator:
    # crc32, not hash(): hash() of a str changes from one interpreter run to the next.
    return np.random.default_rng(np.random.SeedSequence([seed, 1, zlib.crc32(market.encode())]))


def _draw_market(rng: np.random.Generator) -> _Market:
    level = rng.uniform(25_000, 60_000)
    annual_amp = rng.uniform(0.08, 0.2)
    return _Market(
        level=level,
        annual_amp=annual_amp,
        weekend=rng.uniform(0.8, 0.9),
        utc_offset_h=rng.uniform(-0.5, 1.5),
        latitude=rng.uniform(44.0, 56.0),
        wind_cap=level * rng.uniform(0.45, 0.9),
        wind_cf=rng.uniform(0.24, 0.34),
        solar_cap=level * rng.uniform(0.4, 0.7),
        # Sized to the winter evening peak, so that the tightest hours are scarce.
        thermal_cap=level * (1 + annual_amp) * rng.uniform(1.3, 1.38),
        fuel_sens=rng.uniform(0.8, 1.25),
    )


def _ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    """A stationary AR(1) series of length ``n`` with marginal standard deviation ``sd``."""
    eps = rng.standard_normal(n) * (sd * np.sqrt(1.0 - phi * phi))
    if n:
        eps[0] = eps[0] / np.sqrt(1.0 - phi * phi)  # start in the stationary distribution
    from scipy.signal import lfilter  # imported here: scipy.signal takes ~1 s to import

    return lfilter([1.0], [1.0, -phi], eps)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _daily_shape(hour: np.ndarray) -> np.ndarray:
    """Demand relative to the daily mean at local ``hour`` (0–24): peaks at 08:00 and 18:30."""

    def raw(h: np.ndarray) -> np.ndarray:
        return (
            1.0
            + 0.10 * np.exp(-((h - 8.5) ** 2) / (2 * 1.4**2))
            + 0.18 * np.exp(-((h - 18.5) ** 2) / (2 * 1.8**2))
            + 0.08 * np.exp(-((h - 13.0) ** 2) / (2 * 3.0**2))
            - 0.20 * np.exp(-((h - 3.5) ** 2) / (2 * 2.2**2))
            - 0.20 * np.exp(-((h - 27.5) ** 2) / (2 * 2.2**2))  # the next night's trough
        )

    grid = np.arange(0.0, 24.0, 1 / 60)
    return raw(hour) / raw(grid).mean()


def _validate(
    markets: Sequence[str], start: str, end: str, freq: str, shifts: Sequence[RegimeShift]
) -> tuple[list[str], pd.DatetimeIndex, float]:
    if isinstance(markets, str):
        raise ValueError(f"markets must be a sequence of names, not the string {markets!r}")
    names = list(markets)
    if not names:
        raise ValueError("markets is empty: give at least one market name, e.g. ('GB',)")
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"market names must be non-empty strings, got {name!r}")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"markets are repeated: {dupes}")
    try:
        first = pd.Timestamp(start)
        last = pd.Timestamp(end)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"start and end must be dates like '2024-01-01': {exc}") from None
    if pd.isna(first) or pd.isna(last):
        raise ValueError(f"start and end must be dates like '2024-01-01', got {start!r}, {end!r}")
    if first.tzinfo is not None or last.tzinfo is not None:
        raise ValueError("start and end are dates in UTC; give them without a time zone")
    first, last = first.normalize(), last.normalize()
    if last < first:
        raise ValueError(f"end {last.date()} is before start {first.date()}")
    try:
        step = pd.Timedelta(to_offset(freq))
    except (ValueError, TypeError):
        raise ValueError(f"unknown freq {freq!r}: use a step such as '30min' or '1h'") from None
    if step.value <= 0 or pd.Timedelta(days=1).value % step.value:
        raise ValueError(f"freq {freq!r} must be a fixed step that divides a day, e.g. '30min'")
    for shift in shifts:
        if shift.kind not in _SHIFT_KINDS:
            raise ValueError(f"unknown shift kind {shift.kind!r}: use one of {_SHIFT_KINDS}")
        factor = shift.factor
        if isinstance(factor, bool) or not isinstance(factor, int | float) or not factor > 0:
            raise ValueError(f"shift factor must be a positive number, got {factor!r}")
        try:
            valid = not pd.isna(pd.Timestamp(shift.at))
        except (ValueError, TypeError):
            valid = False
        if not valid:
            raise ValueError(f"shift date {shift.at!r} is not a date like '2025-03-01'")
    index = pd.date_range(
        first, last + pd.Timedelta(days=1), freq=step, inclusive="left", tz="UTC", unit="us"
    )
    return sorted(names), index, step / pd.Timedelta(hours=1)


def _shift_factor(
    shifts: Sequence[RegimeShift], kind: str, market: str, t_us: np.ndarray
) -> np.ndarray:
    factor = np.ones(t_us.shape[0])
    for shift in shifts:
        targets = (shift.markets,) if isinstance(shift.markets, str) else shift.markets
        if shift.kind != kind or (targets is not None and market not in targets):
            continue
        at = pd.Timestamp(shift.at)
        at = at.tz_localize("UTC") if at.tzinfo is None else at.tz_convert("UTC")
        factor[t_us >= at.as_unit("us").asm8.astype(np.int64)] *= shift.factor
    return factor


def _outage_events(rng: np.random.Generator, n: int, step_h: float) -> np.ndarray:
    """Forced outages: about eight a year, each taking 5–15 % of capacity for 1–4 days."""
    lost = np.zeros(n)
    per_day = round(24 / step_h)
    count = rng.poisson(8 * n / (365 * per_day))
    starts = rng.integers(0, max(n, 1), size=count)
    lengths = rng.integers(per_day, 4 * per_day, size=count, endpoint=True)
    depths = rng.uniform(0.05, 0.15, size=count)
    for first, length, depth in zip(starts, lengths, depths, strict=True):
        lost[first : first + length] += depth
    return lost


def _fuel_index(seed: int, days: np.ndarray) -> np.ndarray:
    """A fuel cost index (≈1) per period: a daily, slowly mean-reverting log random walk."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
    day0, n_days = days[0], days[-1] - days[0] + 1
    log_fuel = _ar1(rng, int(n_days), phi=0.99, sd=0.15)
    return np.exp(log_fuel - 0.5 * 0.15**2)[days - day0]


def _simulate_market(
    name: str,
    seed: int,
    t_us: np.ndarray,
    step_h: float,
    fuel: np.ndarray,
    shifts: Sequence[RegimeShift],
) -> dict[str, np.ndarray]:
    rng = _market_rng(seed, name)
    m = _draw_market(rng)
    n = t_us.shape[0]

    def phi(per_half_hour: float) -> float:
        return per_half_hour ** (step_h / _REF_PERIOD_H)

    days = t_us // _US_PER_DAY
    hour_utc = (t_us % _US_PER_DAY) / _US_PER_HOUR
    stamps = pd.DatetimeIndex(t_us.astype("datetime64[us]"))
    doy = stamps.day_of_year.to_numpy().astype(float)
    dow = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    hour_local = (hour_utc + m.utc_offset_h) % 24.0
    winter = np.cos(2 * np.pi * (doy - 20) / 365.25)

    # Demand.
    weekly = np.ones(n)
    weekly[dow == 5] = 1 - 0.45 * (1 - m.weekend)
    weekly[dow == 6] = m.weekend
    month, mday = stamps.month.to_numpy(), stamps.day.to_numpy()
    for hm, hd in _HOLIDAYS:
        weekly[(month == hm) & (mday == hd)] = m.weekend * 0.97
    demand_noise = np.exp(_ar1(rng, n, phi(0.995), 0.035))
    demand = (
        m.level
        * _daily_shape(hour_local)
        * weekly
        * (1 + m.annual_amp * winter)
        * demand_noise
        * _shift_factor(shifts, "demand", name, t_us)
    )

    # Wind: a bounded capacity factor with a winter-high seasonal mean.
    mean_cf = np.clip(m.wind_cf * (1 + 0.35 * winter), 0.02, 0.95)
    wind_state = _ar1(rng, n, phi(0.993), 1.3)
    wind = m.wind_cap * _sigmoid(np.log(mean_cf / (1 - mean_cf)) + wind_state)

    # Solar: sun elevation from declination and hour angle, times cloud attenuation.
    decl = np.deg2rad(23.44) * np.sin(2 * np.pi * (doy - 81) / 365.25)
    lat = np.deg2rad(m.latitude)
    solar_time = hour_utc + step_h / 2 + 0.6 * m.utc_offset_h  # longitude ≈ 0.6 × zone offset
    hour_angle = np.deg2rad(15.0 * (solar_time - 12.0))
    sin_elev = np.sin(lat) * np.sin(decl) + np.cos(lat) * np.cos(decl) * np.cos(hour_angle)
    cloud = _sigmoid(_ar1(rng, n, phi(0.98), 1.5) - 0.3)
    solar = m.solar_cap * np.clip(sin_elev, 0.0, None) ** 1.2 * (1 - 0.8 * cloud)

    # Day-ahead forecasts: the actuals plus autocorrelated error.
    demand_fc = demand * (1 + _ar1(rng, n, phi(0.98), 0.02))
    wind_fc = np.clip(wind + m.wind_cap * _ar1(rng, n, phi(0.99), 0.05), 0.0, m.wind_cap)
    solar_fc = solar * np.exp(_ar1(rng, n, phi(0.97), 0.12))

    # Price: a convex merit order over residual demand, cleared on the forecasts.
    outage = np.clip(0.06 + _ar1(rng, n, phi(0.998), 0.04), 0.0, 0.3)
    outage = np.clip(outage + _outage_events(rng, n, step_h), 0.0, 0.6)
    util = (demand_fc - wind_fc - solar_fc) / (m.thermal_cap * (1 - outage))
    fuel_cost = 90.0 * m.fuel_sens * fuel * _shift_factor(shifts, "fuel", name, t_us)
    marginal = fuel_cost * (0.15 + 1.45 * util)
    scarcity = 300.0 * (np.clip(util - 0.82, 0.0, None) / 0.15) ** 2.5
    surplus = -450.0 * np.clip(0.12 - util, 0.0, None)
    noise = _ar1(rng, n, phi(0.9), 4.0)
    price = np.clip(marginal + scarcity + surplus + noise, -500.0, 4000.0)

    return {
        "price": price,
        "actuals": np.column_stack([demand, solar, wind]),  # _ACTUAL_VARS order
        "forecasts": np.column_stack([demand_fc, solar_fc, wind_fc]),  # _FORECAST_VARS order
    }


def _long_frame(
    markets: list[str],
    t_us: np.ndarray,
    blocks: list[np.ndarray],
    variables: tuple[str, ...],
    available_at: np.ndarray,
) -> pd.DataFrame:
    k, n = len(variables), t_us.shape[0]
    return pd.DataFrame(
        {
            "market": pd.Series(np.repeat(np.array(markets, dtype=object), n * k), dtype="str"),
            "timestamp": _utc(np.tile(np.repeat(t_us, k), len(markets))),
            "variable": pd.Series(
                np.tile(np.array(variables, dtype=object), n * len(markets)), dtype="str"
            ),
            "value": np.concatenate([b.ravel() for b in blocks]).astype(np.float64),
            "available_at": _utc(np.tile(np.repeat(available_at, k), len(markets))),
        }
    )


def _utc(us: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(us.astype("datetime64[us]")).tz_localize("UTC")


def simulate(
    markets: Sequence[str] = ("GB", "DE", "FR"),
    start: str = "2024-01-01",
    end: str = "2025-12-31",
    *,
    seed: int = 7,
    freq: str = "30min",
    shifts: Sequence[RegimeShift] | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, pd.DataFrame]:
    """Simulate prices, day-ahead forecasts and actuals for ``markets``, ``start``–``end``.

    Periods run from ``start`` 00:00 UTC to the last period of ``end`` (inclusive), every
    ``freq``. ``shifts=None`` applies :data:`DEFAULT_SHIFTS`; ``()`` applies none. ``progress``
    is called with the number of markets completed so far. A market's series depend only on
    the seed, its name, the dates, ``freq`` and the shifts, never on the other markets named.

    ``available_at``: prices for day D at D-1 11:00 UTC (the auction), forecasts at D-1
    09:00 UTC, actuals one period after their timestamp.

    >>> data = simulate(["GB"], "2024-06-01", "2024-06-07", shifts=())
    >>> len(data["energy_prices"]), len(data["energy_actuals"])
    (336, 1008)
    """
    shifts = DEFAULT_SHIFTS if shifts is None else tuple(shifts)
    names, index, step_h = _validate(markets, start, end, freq, shifts)
    t_us = index.asi8
    days = t_us // _US_PER_DAY
    day_start = days * _US_PER_DAY
    fuel = _fuel_index(seed, days)

    prices, actuals, forecasts = [], [], []
    for done, name in enumerate(names, start=1):
        out = _simulate_market(name, seed, t_us, step_h, fuel, shifts)
        prices.append(out["price"])
        actuals.append(out["actuals"])
        forecasts.append(out["forecasts"])
        if progress is not None:
            progress(done)

    n = t_us.shape[0]
    energy_prices = pd.DataFrame(
        {
            "market": pd.Series(np.repeat(np.array(names, dtype=object), n), dtype="str"),
            "timestamp": _utc(np.tile(t_us, len(names))),
            "price": np.concatenate(prices),
            "available_at": _utc(np.tile(day_start - 13 * _US_PER_HOUR, len(names))),
        }
    )
    step_us = round(step_h * _US_PER_HOUR)
    return {
        "energy_prices": energy_prices,
        "energy_forecasts": _long_frame(
            names, t_us, forecasts, _FORECAST_VARS, day_start - 15 * _US_PER_HOUR
        ),
        "energy_actuals": _long_frame(names, t_us, actuals, _ACTUAL_VARS, t_us + step_us),
    }
