"""The energy feature view: no leakage, the same answer offline (many days) and online (one)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from heliograph.apps.energy import simulate
from heliograph.apps.energy._features import PriceFeatures, feature_columns, forecast_requests
from heliograph.core import FixedClock
from heliograph.features import compute_offline, compute_online, freshness, input_times
from heliograph.lake import Dataset, Lake, take_snapshot

COLUMNS = {"market": "string", "timestamp": "timestamp", "available_at": "timestamp"}


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return simulate(["GB", "DE"], "2025-01-01", "2025-03-10", seed=3)


def perturb_after(frame: pd.DataFrame, moment: pd.Timestamp, column: str) -> pd.DataFrame:
    out = frame.copy()
    late = out["available_at"] > moment
    out.loc[late, column] = out.loc[late, column] * 7 + 1000
    return out


def test_data_published_after_as_of_never_changes_features(frames: dict) -> None:  # type: ignore[type-arg]
    view = PriceFeatures()
    requests = forecast_requests(["GB", "DE"], pd.date_range("2025-02-01", "2025-02-03"))
    for as_of, rows in requests.groupby("as_of"):
        honest = view.compute(frames, rows)
        tampered = {
            "energy_prices": perturb_after(frames["energy_prices"], as_of, "price"),
            "energy_forecasts": perturb_after(frames["energy_forecasts"], as_of, "value"),
        }
        after = view.compute(tampered, rows)
        cols = feature_columns(honest)
        pd.testing.assert_frame_equal(honest[cols], after[cols])
        assert not np.allclose(honest["target"], after["target"])  # the label did change


def test_auction_timing(frames: dict) -> None:  # type: ignore[type-arg]
    view = PriceFeatures()
    requests = forecast_requests(["GB"], [pd.Timestamp("2025-02-10")])
    out = view.compute(frames, requests)
    assert (out["as_of"] == pd.Timestamp("2025-02-09 10:00", tz="UTC")).all()
    prices = frames["energy_prices"].set_index(["market", "timestamp"])["price"]
    # D-1's prices were auctioned on D-2: known; the lag equals the price 24 h earlier.
    expected = prices.loc[[("GB", t - pd.Timedelta(days=1)) for t in out["timestamp"]]]
    np.testing.assert_allclose(out["price_lag_1d"], expected.to_numpy())
    assert out["price_d1_mean"].notna().all()
    assert out["fc_demand_forecast"].notna().all()  # published 09:00 on D-1
    assert len(out) == 48 and out["period"].tolist() == list(range(48))
    # A forecast made before the auction for D-1 (on D-2 at 10:00) cannot see D-1's prices.
    early = requests.assign(as_of=requests["as_of"] - pd.Timedelta(days=1))
    assert view.compute(frames, early)["price_lag_1d"].isna().all()


def test_day_vectors_hold_the_whole_hourly_profile(frames: dict) -> None:  # type: ignore[type-arg]
    """Every period of D sees all 24 hours of D-1, D-2, D-3, D-7 (prices) and of D, D-1, D-7
    (driver forecasts), so the model of 01:00 can read yesterday's 23:00."""
    view = PriceFeatures()
    day = pd.Timestamp("2025-02-10", tz="UTC")
    out = view.compute(frames, forecast_requests(["GB", "DE"], [day]))
    prices = frames["energy_prices"].set_index(["market", "timestamp"])["price"]
    drivers = frames["energy_forecasts"].set_index(["variable", "market", "timestamp"])["value"]
    for market, rows in out.groupby("market"):
        for lag in (1, 2, 3, 7):
            hours = [f"price_d{lag}_h{h:02d}" for h in range(24)]
            profile = rows[hours].to_numpy()
            assert (profile == profile[0]).all()  # the same vector on every period of the day
            start = day - pd.Timedelta(days=lag)
            expected = [prices[(market, start + pd.Timedelta(hours=h))] for h in range(24)]
            np.testing.assert_allclose(profile[0], expected)
        late = rows[[f"fc_demand_forecast_h{h:02d}" for h in range(24)]].iloc[0]
        expected = [
            drivers[("demand_forecast", market, day + pd.Timedelta(hours=h))] for h in range(24)
        ]
        np.testing.assert_allclose(late, expected)
        assert rows[[f"fc_wind_forecast_d7_h{h:02d}" for h in range(24)]].notna().all().all()
    # The half-hourly aligned lag at HH:00 is that hour of the vector.
    on_the_hour = out.loc[out["timestamp"].dt.minute == 0]
    vector = [
        on_the_hour.loc[i, f"price_d1_h{on_the_hour.loc[i, 'timestamp'].hour:02d}"]
        for i in on_the_hour.index
    ]
    np.testing.assert_allclose(on_the_hour["price_lag_1d"], vector)
    # No vector of D's own prices: unknown when the forecast is made.
    assert not [c for c in out.columns if c.startswith("price_h") or c.startswith("price_d0")]
    # Before D-1's auction, D-1's profile is unknown; D-2's is known.
    early = view.compute(
        frames,
        forecast_requests(["GB"], [day]).assign(as_of=lambda f: f["as_of"] - pd.Timedelta(days=1)),
    )
    assert early[[f"price_d1_h{h:02d}" for h in range(24)]].isna().all().all()
    assert early[[f"price_d2_h{h:02d}" for h in range(24)]].notna().all().all()


def energy_lake(root: Path, frames: dict) -> Lake:  # type: ignore[type-arg]
    """The simulated prices and driver forecasts in a lake of their own."""
    clock = FixedClock(datetime(2025, 3, 11, tzinfo=UTC))
    lake = Lake(
        root,
        [
            Dataset(
                "energy_prices",
                {**COLUMNS, "price": "double"},
                ("market", "timestamp"),
                "timestamp",
            ),
            Dataset(
                "energy_forecasts",
                {**COLUMNS, "variable": "string", "value": "double"},
                ("market", "timestamp", "variable"),
                "timestamp",
            ),
        ],
        clock=clock,
    )
    for name in ("energy_prices", "energy_forecasts"):
        lake.ingest(name, frames[name], origin="sim")
    return lake


def test_offline_batch_equals_online_one_at_a_time(tmp_path: Path, frames: dict) -> None:  # type: ignore[type-arg]
    lake = energy_lake(tmp_path, frames)
    snaps = {name: take_snapshot(lake, name).id for name in ("energy_prices", "energy_forecasts")}
    view = PriceFeatures()
    requests = forecast_requests(["GB", "DE"], pd.date_range("2025-02-20", "2025-02-26"))
    batch = compute_offline(lake, view, requests, snapshots=snaps)
    for day in ("2025-02-21", "2025-02-26"):
        one = requests[requests["timestamp"].dt.strftime("%Y-%m-%d") == day]
        online = compute_online(lake, view, one)
        cols = feature_columns(batch)
        pd.testing.assert_frame_equal(batch.loc[one.index, cols], online[cols])
    assert batch[feature_columns(batch)].notna().all().all()


def test_the_freshness_of_inputs_depends_on_as_of_and_the_lake_only(
    tmp_path: Path,
    frames: dict,  # type: ignore[type-arg]
) -> None:
    """As of T, each input's newest row known at T, from the whole dataset; and the features
    that had no value."""
    lake = energy_lake(tmp_path, frames)
    view = PriceFeatures()
    times = input_times(lake, view, on="market")
    as_of = datetime(2025, 2, 20, 10, tzinfo=UTC)
    state = freshness(times, {"market": "GB"}, as_of)
    # prices for the 20th were auctioned at 11:00 on the 19th, forecasts published at 09:00
    assert state.newest == {
        "energy_prices": datetime(2025, 2, 19, 11, tzinfo=UTC),
        "energy_forecasts": datetime(2025, 2, 20, 9, tzinfo=UTC),
    }
    assert state.age("energy_prices") == timedelta(hours=23) and not state.unknown
    assert state.stale(timedelta(hours=12)) == ["energy_prices"]
    assert state.known_from == datetime(2024, 12, 31, 11, tzinfo=UTC)
    assert state.at(as_of + timedelta(hours=2)).age("energy_forecasts") == timedelta(hours=3)
    early = freshness(times, {"market": "GB"}, datetime(2024, 12, 31, 10, tzinfo=UTC))
    assert early.unknown == ["energy_prices"] and not early.never
    assert freshness(times, {"market": "XX"}, as_of).never
    rows = view.compute(frames, forecast_requests(["GB"], [pd.Timestamp("2025-02-21")]))
    rows.loc[rows.index[:2], "fc_wind_forecast"] = np.nan
    assert state.with_missing(rows, feature_columns(rows)).missing == ("fc_wind_forecast",)
