"""The energy feature view: what a day-ahead price forecast may know when it is made.

A forecast for delivery day D is made on D-1 at 10:00 UTC, before that day's auction closes
(11:00 UTC in the simulator, 12:00 wall clock in the EPF files). At that moment the prices of
D-1 and earlier are known (their auctions are over), D's prices are not; the day-ahead
forecasts of demand, wind and solar for D are (published at 09:00). Every lookup goes through
``point_in_time``, so a value published after the forecast was made can never leak in.

Two kinds of inputs, for two kinds of models:

- *aligned*, the same period of earlier days: ``price_lag_{1,2,3,7}d``, D-1's mean, min and
  max, and each driver forecast ``fc_<variable>`` for the period and its ``_lag_1d``/``_lag_7d``;
- *day vectors*, the whole hourly profile of a day, as in the EPF literature's LEAR and DNN
  (Lago et al. 2021): ``price_d{1,2,3,7}_hHH`` (the price at HH:00 of D-1, D-2, D-3, D-7) and
  ``fc_<variable>_hHH``, ``fc_<variable>_d1_hHH``, ``fc_<variable>_d7_hHH`` (the forecast for
  HH:00 of D, D-1, D-7), so the model of 01:00 can see yesterday's 23:00.

Example::

    requests = forecast_requests(["GB"], pd.date_range("2025-03-01", "2025-03-31"), "30min")
    features = compute_offline(lake, PriceFeatures(), requests, snapshots=snapshot_ids)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

import numpy as np
import pandas as pd

from heliograph.features import FeatureView, OnlineView, point_in_time

__all__ = [
    "FEATURE_IDS",
    "ONLINE_PRICE_FEATURES",
    "ORIGIN_HOUR",
    "PriceFeatures",
    "feature_columns",
    "forecast_requests",
]

ORIGIN_HOUR = 10  # UTC hour on D-1 at which the forecast for day D is made
FEATURE_IDS = ("market", "timestamp", "as_of", "target", "target_available_at")
_LAG_DAYS = (1, 2, 3, 7)
_DRIVER_LAG_DAYS = (0, 1, 7)
_HOURS = 24


def forecast_requests(
    markets: Sequence[str], days: Sequence[pd.Timestamp] | pd.DatetimeIndex, freq: str = "30min"
) -> pd.DataFrame:
    """One request per market and period of each delivery day, made on D-1 at ORIGIN_HOUR."""
    days = pd.DatetimeIndex(pd.to_datetime(days)).normalize()
    if days.tz is None:
        days = days.tz_localize("UTC")
    step = pd.Timedelta(freq)
    periods = int(pd.Timedelta(days=1) / step)
    offsets = pd.TimedeltaIndex(np.tile(np.arange(periods) * step, len(days)))
    stamps = days.repeat(periods) + offsets
    rows = []
    for market in markets:
        frame = pd.DataFrame({"market": market, "timestamp": stamps})
        day = frame["timestamp"].dt.normalize()
        frame["as_of"] = day - pd.Timedelta(days=1) + pd.Timedelta(hours=ORIGIN_HOUR)
        rows.append(frame)
    out = (
        pd.concat(rows, ignore_index=True)
        if rows
        else pd.DataFrame(
            {
                "market": [],
                "timestamp": pd.DatetimeIndex([], tz="UTC"),
                "as_of": pd.DatetimeIndex([], tz="UTC"),
            }
        )
    )
    out["timestamp"] = out["timestamp"].astype("datetime64[us, UTC]")
    out["as_of"] = out["as_of"].astype("datetime64[us, UTC]")
    return out


class PriceFeatures(FeatureView):
    """Price lags, calendar and day-ahead driver forecasts for each target period."""

    name = "energy_price_features"
    version = "2"
    datasets = ("energy_prices", "energy_forecasts")
    labels = (("target", "target_available_at"),)
    one_pass = True  # every lookup is as of each request's own as_of

    def compute(self, data: Mapping[str, pd.DataFrame], requests: pd.DataFrame) -> pd.DataFrame:
        out = requests[["market", "timestamp", "as_of"]].copy()
        prices = data.get("energy_prices", pd.DataFrame())
        forecasts = data.get("energy_forecasts", pd.DataFrame())
        ts = out["timestamp"]
        # The label and when it becomes known; never a feature.
        if not prices.empty:
            labels = prices.set_index(["market", "timestamp"])[["price", "available_at"]]
            idx = pd.MultiIndex.from_frame(out[["market", "timestamp"]])
            found = labels.reindex(idx)
            out["target"] = found["price"].to_numpy(dtype=float)
            out["target_available_at"] = found["available_at"].array
        else:
            out["target"] = np.nan
            out["target_available_at"] = pd.NaT
        out["period"] = ((ts - ts.dt.normalize()) / _steps(prices, out)).astype(int)
        out["hour"] = ts.dt.hour + ts.dt.minute / 60
        out["dow"] = ts.dt.day_of_week
        out["doy"] = ts.dt.day_of_year
        out["is_weekend"] = (out["dow"] >= 5).astype(int)
        for lag in _LAG_DAYS:
            out[f"price_lag_{lag}d"] = (
                point_in_time(
                    prices, out, value="price", on=["market"], shift=pd.Timedelta(days=lag)
                )
                if not prices.empty
                else np.nan
            )
        out = out.join(self._yesterday(prices, out))
        for variable, rows in forecasts.groupby("variable") if not forecasts.empty else []:
            for lag, suffix in ((0, ""), (1, "_lag_1d"), (7, "_lag_7d")):
                out[f"fc_{variable}{suffix}"] = point_in_time(
                    rows, out, value="value", on=["market"], shift=pd.Timedelta(days=lag)
                )
        vectors = [_day_vectors(prices, out, "price", "price", _LAG_DAYS)]
        for variable, rows in forecasts.groupby("variable") if not forecasts.empty else []:
            vectors.append(_day_vectors(rows, out, "value", f"fc_{variable}", _DRIVER_LAG_DAYS))
        return pd.concat([out, *vectors], axis=1)

    @staticmethod
    def _yesterday(prices: pd.DataFrame, out: pd.DataFrame) -> pd.DataFrame:
        """Mean, min and max of D-1's prices known at each request's ``as_of``.

        The day's rows are taken in the order they became known, with running statistics;
        each request gets those of the last row known at its ``as_of`` (``merge_asof``), so
        requests with different ``as_of`` in one call each see only what was known then.
        """
        columns = ["price_d1_mean", "price_d1_min", "price_d1_max"]
        known = prices.dropna(subset=["price"]) if not prices.empty else prices
        if known.empty:
            return pd.DataFrame(np.nan, index=out.index, columns=columns)
        # `.array`, not `.to_numpy()`: a time zone-aware column's numpy form is an object
        # array of Timestamps (most of this function's time in a training's feature pass)
        rows = pd.DataFrame(
            {
                "market": known["market"].array,
                "day": known["timestamp"].dt.normalize().array,
                "available_at": known["available_at"].array,
                "price": known["price"].to_numpy(dtype=float),
            }
        ).sort_values("available_at", kind="stable")
        by_day = rows.groupby(["market", "day"], sort=False)["price"]
        rows["price_d1_mean"] = by_day.cumsum() / (by_day.cumcount() + 1)
        rows["price_d1_min"] = by_day.cummin()
        rows["price_d1_max"] = by_day.cummax()
        left = pd.DataFrame(
            {
                "market": out["market"].array,
                "day": (out["timestamp"].dt.normalize() - pd.Timedelta(days=1)).array,
                "as_of": out["as_of"].array,
                "row": np.arange(len(out)),
            }
        ).sort_values("as_of", kind="stable")
        right = rows.drop(columns="price")
        right["available_at"] = right["available_at"].astype(left["as_of"].dtype)
        right["day"] = right["day"].astype(left["day"].dtype)
        found = pd.merge_asof(
            left, right, left_on="as_of", right_on="available_at", by=["market", "day"]
        ).sort_values("row")
        values = found[columns].to_numpy(dtype=float)
        return pd.DataFrame(values, index=out.index, columns=columns)


def _steps(prices: pd.DataFrame, out: pd.DataFrame) -> pd.Series:
    """Each request's period length: its market's median spacing of price timestamps (from
    the data, so that one request alone gets the same period as many), else of the requests'
    own timestamps, else 30 minutes."""
    fallback = out["timestamp"].groupby(out["market"]).diff().median()
    fallback = fallback if pd.notna(fallback) else pd.Timedelta(minutes=30)
    if prices.empty:
        return pd.Series(fallback, index=out.index)
    stamps = prices[["market", "timestamp"]].drop_duplicates().sort_values(["market", "timestamp"])
    gaps = stamps["timestamp"].groupby(stamps["market"]).diff()
    steps = gaps[gaps > pd.Timedelta(0)].groupby(stamps["market"]).median()
    return out["market"].map(steps).fillna(fallback)


ONLINE_PRICE_FEATURES = OnlineView(
    PriceFeatures(), entity="market", horizon=timedelta(hours=48), lookback=timedelta(days=9)
)
"""The price features as the online store keeps them: per market, up to 48 h ahead (the
service's longest horizon); the view reaches 7 days back, and D-1's statistics one more."""


def _day_vectors(
    data: pd.DataFrame, out: pd.DataFrame, value: str, prefix: str, lags: Sequence[int]
) -> pd.DataFrame:
    """The value at each hour HH:00 of day D - lag, as known at each row's ``as_of``.

    Columns ``{prefix}_d{lag}_hHH`` (``{prefix}_hHH`` for lag 0). Rows of one delivery day
    and ``as_of`` share their vectors, so each (market, day, as_of) is looked up once.
    """
    day = out["timestamp"].dt.normalize()
    keys = pd.DataFrame({"market": out["market"], "day": day, "as_of": out["as_of"]})
    first = ~keys.duplicated()
    unique = keys.loc[first].reset_index(drop=True)
    which = keys.merge(unique.reset_index(), on=["market", "day", "as_of"], how="left")["index"]
    hours = np.tile(np.arange(_HOURS), len(unique))
    grid = unique.loc[unique.index.repeat(_HOURS)].reset_index(drop=True)
    grid["timestamp"] = grid["day"] + pd.to_timedelta(hours, unit="h")
    blocks = {}
    for lag in lags:
        stem = prefix if lag == 0 else f"{prefix}_d{lag}"
        if data.empty:
            values = np.full((len(unique), _HOURS), np.nan)
        else:
            found = point_in_time(
                data, grid, value=value, on=["market"], shift=pd.Timedelta(days=lag)
            )
            values = found.to_numpy(dtype=float).reshape(len(unique), _HOURS)
        for hour in range(_HOURS):
            blocks[f"{stem}_h{hour:02d}"] = values[which.to_numpy(), hour]
    return pd.DataFrame(blocks, index=out.index)


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """The model inputs of a feature frame: every column but the identifiers and the label."""
    return [c for c in frame.columns if c not in FEATURE_IDS]
