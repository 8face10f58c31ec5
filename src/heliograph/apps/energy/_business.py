"""The energy service's business metric for monitoring: what a battery captures trading on it.

``battery_capture`` takes one model version's judged predictions (``heliograph.ledger
.judged_predictions``, rows with actuals) and, for each target, keeps the newest forecast made
before the target's UTC day began: the day-ahead forecast a battery commits on. It returns
``battery_value``'s ``capture`` over the complete days (the share of perfect-foresight revenue
the forecast secured); ValueError when no day is complete.

Example::

    BusinessMetric("price-forecast", "battery_capture", battery_capture, "maximize")
"""

from __future__ import annotations

import math

import pandas as pd

from ._battery import battery_value

__all__ = ["battery_capture"]


def battery_capture(judged: pd.DataFrame) -> float:
    """The battery's capture on the day-ahead forecasts among ``judged`` (see the module)."""
    target = pd.to_datetime(judged["target_time"], utc=True)
    day_ahead = judged[pd.to_datetime(judged["as_of"], utc=True) < target.dt.floor("D")]
    if day_ahead.empty:
        raise ValueError("no forecast was made before its target's day began")
    latest = (
        day_ahead.sort_values("as_of")
        .drop_duplicates("target_time", keep="last")
        .set_index("target_time")
        .sort_index()
    )
    result = battery_value(latest["actual"], latest["p50"])
    if not result["days"] or math.isnan(result["capture"]):
        raise ValueError("no complete day with a positive perfect-foresight revenue")
    return float(result["capture"])
