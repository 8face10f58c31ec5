"""The energy app's actuals: the market's price at each target time, once it was known."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from heliograph.apps.energy import PRICE_SERVICE, model_name, read_price_actuals, simulate
from heliograph.core import init_project, load_app
from heliograph.lake import open_lake


def test_prices_judge_the_predictions_of_their_market(tmp_path: Path) -> None:
    now = datetime(2025, 2, 10, 12, tzinfo=UTC)
    lake = open_lake(init_project(tmp_path / "e", extra=load_app("energy").config))
    frames = simulate(["GB", "DE"], "2025-02-01", "2025-02-12", seed=1)
    lake.ingest("energy_prices", frames["energy_prices"], origin="simulated")
    prices = lake.read("energy_prices")
    known = prices.loc[pd.to_datetime(prices["available_at"], utc=True) <= now]
    latest = pd.to_datetime(known["timestamp"], utc=True).max()
    targets = [latest - timedelta(hours=1), latest, latest + timedelta(minutes=30)]
    wanted = pd.DataFrame(
        {
            "model_name": [model_name("GB")] * 3 + [model_name("FR"), "other-model"],
            "target_time": [*targets, targets[0], targets[0]],
        }
    )

    found = read_price_actuals(lake, wanted, now)

    # GB's two known periods; the next is not yet available, FR has no prices, and a model
    # that is not the price service's is not looked up
    assert PRICE_SERVICE == "price-forecast"
    assert found["target_time"].tolist() == targets[:2]
    gb = known.loc[known["market"] == "GB"].assign(
        t=lambda f: pd.to_datetime(f["timestamp"], utc=True)
    )
    expected = gb.set_index("t").loc[targets[:2], "price"].tolist()
    assert found["value"].tolist() == expected
    assert set(found["model_name"]) == {model_name("GB")}
