"""The energy app's actuals: the price of each prediction's market at each target time.

The price service's model for a market is ``energy-price-<MARKET>`` (``model_name``), so the
model name says which market's prices judge it; a price counts once it was available (its
``available_at``) at the job's now.

Example::

    read_price_actuals(lake, wanted, now)
    # model_name        target_time                value
    # energy-price-GB   2025-06-01 18:00:00+00:00  61.2
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from heliograph.lake import Lake

from ._train import MODEL_PREFIX

__all__ = ["BATTERY_SERVICE", "PRICE_SERVICE", "read_price_actuals"]

PRICE_SERVICE = "price-forecast"
"""The service whose predictions the prices judge."""
BATTERY_SERVICE = "battery-schedule"
"""The service whose schedules the prices value (``realised_battery_value``)."""


def read_price_actuals(lake: Lake, wanted: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """The prices of ``energy_prices`` at the wanted (``model_name``, ``target_time``) pairs,
    as known at ``now``."""
    columns = ["model_name", "target_time", "value"]
    prefix = f"{MODEL_PREFIX}-"
    wanted = wanted.loc[wanted["model_name"].str.startswith(prefix)]
    if wanted.empty:
        return pd.DataFrame(columns=columns)
    wanted = wanted.assign(market=wanted["model_name"].str.removeprefix(prefix))
    times = pd.to_datetime(wanted["target_time"], utc=True)
    within = f"\"timestamp\" BETWEEN '{times.min().isoformat()}' AND '{times.max().isoformat()}'"
    prices = lake.read(
        "energy_prices", columns=["market", "timestamp", "price", "available_at"], where=within
    )  # only the wanted days, not the whole history, at every run
    prices = prices.loc[pd.to_datetime(prices["available_at"], utc=True) <= pd.Timestamp(now)]
    prices = prices.assign(target_time=pd.to_datetime(prices["timestamp"], utc=True))
    found = wanted.merge(prices, on=["market", "target_time"])
    return found.rename(columns={"price": "value"})[columns].reset_index(drop=True)
