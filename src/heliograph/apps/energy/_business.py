"""The energy service's business metric for monitoring: what a battery captures trading on it.

``battery_capture`` takes one model version's judged predictions (``heliograph.ledger
.judged_predictions``, rows with actuals) and, for each target, keeps the newest forecast made
before the target's UTC day began: the day-ahead forecast a battery commits on. It returns
``battery_value``'s ``capture`` over the complete days (the share of perfect-foresight revenue
the forecast secured); ValueError when no day is complete.

``realised_battery_value`` is the battery-schedule service's: the € its day-ahead schedules
(the newest made before each target's UTC day began) earned at the actual prices,
``sum(actual * net_mw) * period_hours`` over the periods whose price is known.

Example::

    BusinessMetric("price-forecast", "battery_capture", battery_capture, "maximize")
    BusinessMetric("battery-schedule", "battery_value", realised_battery_value, "maximize")
"""

from __future__ import annotations

import math

import pandas as pd

from ._battery import _period_hours, battery_value

__all__ = ["battery_capture", "realised_battery_value"]


def _day_ahead(judged: pd.DataFrame) -> pd.DataFrame:
    """Per target, the newest of ``judged``'s forecasts made before the target's day began."""
    target = pd.to_datetime(judged["target_time"], utc=True)
    day_ahead = judged[pd.to_datetime(judged["as_of"], utc=True) < target.dt.floor("D")]
    if day_ahead.empty:
        raise ValueError("no forecast was made before its target's day began")
    return (
        day_ahead.sort_values("as_of")
        .drop_duplicates("target_time", keep="last")
        .set_index("target_time")
        .sort_index()
    )


def battery_capture(judged: pd.DataFrame) -> float:
    """The battery's capture on the day-ahead forecasts among ``judged`` (see the module)."""
    latest = _day_ahead(judged)
    result = battery_value(latest["actual"], latest["p50"])
    if not result["days"] or math.isnan(result["capture"]):
        raise ValueError("no complete day with a positive perfect-foresight revenue")
    return float(result["capture"])


def realised_battery_value(judged: pd.DataFrame) -> float:
    """The € the day-ahead battery schedules among ``judged`` earned (see the module)."""
    if "net_mw" not in judged:
        raise ValueError("the predictions carry no schedule (net_mw): not battery-schedule's")
    latest = _day_ahead(judged).dropna(subset=["actual", "net_mw"])
    if latest.empty:
        raise ValueError("no scheduled period has its actual price yet")
    if len(latest) < 2:
        raise ValueError("one scheduled period with its price: too few to know its length")
    hours = _period_hours(pd.DatetimeIndex(pd.to_datetime(latest.index, utc=True)))
    return float((latest["actual"] * latest["net_mw"]).sum() * hours)
