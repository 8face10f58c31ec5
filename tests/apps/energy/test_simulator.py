"""The market simulator: shape of its output, determinism, realism, regime shifts, errors."""

from __future__ import annotations

import time
from datetime import date

import numpy as np
import pandas as pd
import pytest

from heliograph.apps.energy._simulator import DEFAULT_SHIFTS, RegimeShift, simulate

PRICE_COLUMNS = ["market", "timestamp", "price", "available_at"]
LONG_COLUMNS = ["market", "timestamp", "variable", "value", "available_at"]
TS = "datetime64[us, UTC]"
FUEL_AT = pd.Timestamp("2025-09-01", tz="UTC")


@pytest.fixture(scope="module")
def default_run() -> tuple[dict[str, pd.DataFrame], float]:
    started = time.perf_counter()
    data = simulate()
    return data, time.perf_counter() - started


@pytest.fixture(scope="module")
def data(default_run) -> dict[str, pd.DataFrame]:
    return default_run[0]


@pytest.fixture(scope="module")
def unshifted() -> dict[str, pd.DataFrame]:
    return simulate(shifts=())


def wide(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.pivot_table(index=["market", "timestamp"], columns="variable", values="value")


def with_residual(data: dict[str, pd.DataFrame]) -> pd.DataFrame:
    forecasts = wide(data["energy_forecasts"]).reset_index()
    table = data["energy_prices"].merge(forecasts, on=["market", "timestamp"])
    table["residual"] = table.demand_forecast - table.wind_forecast - table.solar_forecast
    return table


# --- shape -----------------------------------------------------------------------------------


def test_default_run_covers_every_half_hour_of_both_years_quickly(default_run):
    data, seconds = default_run
    assert seconds < 5, f"simulate() took {seconds:.1f} s"
    prices = data["energy_prices"]
    periods = 731 * 48  # 2024 is a leap year
    assert len(prices) == 3 * periods
    assert len(data["energy_forecasts"]) == len(data["energy_actuals"]) == 3 * 3 * periods
    assert prices.timestamp.min() == pd.Timestamp("2024-01-01 00:00", tz="UTC")
    assert prices.timestamp.max() == pd.Timestamp("2025-12-31 23:30", tz="UTC")


def test_columns_dtypes_and_order(data):
    prices, forecasts, actuals = (
        data[k] for k in ("energy_prices", "energy_forecasts", "energy_actuals")
    )
    assert list(prices.columns) == PRICE_COLUMNS
    assert list(forecasts.columns) == list(actuals.columns) == LONG_COLUMNS
    for frame in (prices, forecasts, actuals):
        assert str(frame.timestamp.dtype) == TS
        assert str(frame.available_at.dtype) == TS
        assert pd.api.types.is_string_dtype(frame.market.dtype)
        assert not frame.isna().any().any()
    assert prices.price.dtype == np.float64
    assert forecasts.value.dtype == actuals.value.dtype == np.float64
    assert set(forecasts.variable) == {"demand_forecast", "wind_forecast", "solar_forecast"}
    assert set(actuals.variable) == {"demand", "wind", "solar"}
    keys = {"energy_prices": ["market", "timestamp"]}
    for name, frame in data.items():
        key = keys.get(name, ["market", "timestamp", "variable"])
        assert frame.equals(frame.sort_values(key, ignore_index=True)), name
        assert not frame.duplicated(key).any(), name


def test_available_at_rules(data):
    prices, forecasts, actuals = (
        data[k] for k in ("energy_prices", "energy_forecasts", "energy_actuals")
    )
    day = prices.timestamp.dt.normalize()
    assert (prices.available_at == day - pd.Timedelta(hours=13)).all()  # D-1 11:00 UTC
    day = forecasts.timestamp.dt.normalize()
    assert (forecasts.available_at == day - pd.Timedelta(hours=15)).all()  # D-1 09:00 UTC
    assert (actuals.available_at == actuals.timestamp + pd.Timedelta(minutes=30)).all()


def test_other_frequencies_and_short_ranges():
    hourly = simulate(["GB"], "2024-03-01", "2024-03-02", freq="1h", shifts=())
    assert len(hourly["energy_prices"]) == 48
    quarter = simulate(["GB"], "2024-03-01", "2024-03-01", freq="15min", shifts=())
    assert len(quarter["energy_prices"]) == 96
    assert (
        quarter["energy_actuals"].available_at - quarter["energy_actuals"].timestamp
        == pd.Timedelta(minutes=15)
    ).all()


def test_progress_is_called_once_per_market():
    calls: list[int] = []
    simulate(["GB", "DE", "FR"], "2024-01-01", "2024-01-03", progress=calls.append)
    assert calls == [1, 2, 3]


# --- determinism ------------------------------------------------------------------------------


def test_same_arguments_give_bit_identical_frames():
    first = simulate(["GB", "DE"], "2024-01-01", "2024-02-29", seed=11)
    second = simulate(["DE", "GB"], "2024-01-01", "2024-02-29", seed=11)
    for name in first:
        pd.testing.assert_frame_equal(first[name], second[name], check_exact=True)


def test_seed_and_market_change_the_output_but_other_markets_do_not():
    both = simulate(["GB", "DE"], "2024-01-01", "2024-01-31", seed=3)["energy_prices"]
    alone = simulate(["GB"], "2024-01-01", "2024-01-31", seed=3)["energy_prices"]
    gb = both[both.market == "GB"].reset_index(drop=True)
    pd.testing.assert_frame_equal(gb, alone, check_exact=True)
    de = both[both.market == "DE"].price.to_numpy()
    assert not np.allclose(gb.price.to_numpy(), de)
    other_seed = simulate(["GB"], "2024-01-01", "2024-01-31", seed=4)["energy_prices"]
    assert not np.allclose(alone.price.to_numpy(), other_seed.price.to_numpy())


def test_markets_have_their_own_levels(data):
    demand = wide(data["energy_actuals"]).groupby("market").demand.mean()
    assert demand.nunique() == 3
    assert demand.max() / demand.min() > 1.1


# --- realism ----------------------------------------------------------------------------------


def test_demand_has_daily_weekly_and_annual_seasonality(unshifted):
    actual = wide(unshifted["energy_actuals"]).reset_index()
    for _, frame in actual.groupby("market"):
        ts = frame.timestamp
        by_hour = frame.demand.groupby(ts.dt.hour).mean()
        assert by_hour.loc[17:19].max() > 1.15 * by_hour.loc[2:4].min()  # evening peak vs night
        assert by_hour.loc[7:9].max() > 1.15 * by_hour.loc[2:4].min()  # morning ramp
        weekend = ts.dt.day_of_week >= 5
        assert frame.demand[weekend].mean() < 0.95 * frame.demand[~weekend].mean()
        by_month = frame.demand.groupby(ts.dt.month).mean()
        assert by_month[[1, 12]].mean() > 1.1 * by_month[[6, 7]].mean()


def test_wind_and_solar_are_physical(unshifted):
    actual = wide(unshifted["energy_actuals"]).reset_index()
    assert (actual.wind >= 0).all() and (actual.solar >= 0).all()
    hour = actual.timestamp.dt.hour
    assert (actual.solar[(hour <= 1) | (hour >= 23)] == 0).all()  # dark at midnight
    assert (actual.solar[hour == 11] > 0).mean() > 0.99
    summer = actual.timestamp.dt.month.isin([6, 7])
    winter = actual.timestamp.dt.month.isin([12, 1])
    assert actual.solar[summer].mean() > 2 * actual.solar[winter].mean()
    assert actual.wind[winter].mean() > actual.wind[summer].mean()
    wind = actual[actual.market == "GB"].wind.to_numpy()
    assert np.corrcoef(wind[:-1], wind[1:])[0, 1] > 0.9  # persistent weather


def test_forecast_errors_are_realistic(unshifted):
    actual = wide(unshifted["energy_actuals"])
    forecast = wide(unshifted["energy_forecasts"])

    def relative_mae(name: str) -> float:
        error = (forecast[f"{name}_forecast"] - actual[name]).abs().mean()
        return float(error / actual[name].mean())

    assert 0.005 < relative_mae("demand") < 0.05
    assert relative_mae("wind") > 2 * relative_mae("demand")
    assert relative_mae("solar") > relative_mae("demand")
    assert (forecast.wind_forecast >= 0).all() and (forecast.solar_forecast >= 0).all()


def test_prices_are_in_the_right_ballpark_with_spikes_and_negatives(data):
    for market, price in data["energy_prices"].groupby("market").price:
        assert 40 < price.mean() < 150, market
        assert 10 < price.std() < 100, market
        assert 0.001 < (price < 0).mean() < 0.06, market
        assert price.max() > 300, market
        assert (price > 300).mean() < 0.01, market


def test_price_follows_residual_demand_convexly(unshifted):
    table = with_residual(unshifted)
    for market, frame in table.groupby("market"):
        assert frame.price.corr(frame.residual, method="spearman") > 0.8, market
        bins = pd.qcut(frame.residual, 10, labels=False)
        by_decile = frame.price.groupby(bins).mean()
        steps = by_decile.diff().dropna()
        assert (steps > 0).all(), market
        assert steps.iloc[-1] > steps.iloc[len(steps) // 2], market  # steeper at the top


# --- regime shifts ----------------------------------------------------------------------------


def test_default_shifts_are_inside_the_default_range():
    kinds = {shift.kind for shift in DEFAULT_SHIFTS}
    assert kinds == {"demand", "fuel"}
    for shift in DEFAULT_SHIFTS:
        assert pd.Timestamp("2024-01-01") < pd.Timestamp(shift.at) < pd.Timestamp("2025-12-31")


def test_demand_shift_scales_demand_from_its_date_in_its_markets_only():
    args = (["GB", "DE"], "2024-05-25", "2024-06-05")
    base = wide(simulate(*args, shifts=())["energy_actuals"]).demand
    shifted = wide(
        simulate(*args, shifts=[RegimeShift("2024-06-01", "demand", 0.85, markets=("DE",))])[
            "energy_actuals"
        ]
    ).demand
    ratio = (shifted / base).unstack("market")
    after = ratio.index >= pd.Timestamp("2024-06-01", tz="UTC")
    np.testing.assert_allclose(ratio.loc[after, "DE"], 0.85)
    np.testing.assert_allclose(ratio.loc[~after, "DE"], 1.0)
    np.testing.assert_allclose(ratio["GB"], 1.0)


def test_fuel_shift_changes_the_price_relationship(data, unshifted):
    """A price-on-residual-demand line fit before the fuel step fails after it."""

    def mae_ratio(table: pd.DataFrame) -> float:
        fit = table[
            (table.timestamp >= FUEL_AT - pd.DateOffset(years=1)) & (table.timestamp < FUEL_AT)
        ]
        after = table[table.timestamp >= FUEL_AT]
        slope, intercept = np.polyfit(fit.residual, fit.price, 1)
        mae_fit = (fit.price - (intercept + slope * fit.residual)).abs().mean()
        mae_after = (after.price - (intercept + slope * after.residual)).abs().mean()
        return float(mae_after / mae_fit)

    shifted, control = with_residual(data), with_residual(unshifted)
    for market in ("GB", "DE", "FR"):
        with_shift = mae_ratio(shifted[shifted.market == market])
        without = mae_ratio(control[control.market == market])
        assert with_shift > 3, market
        assert with_shift > 2 * without, market


def test_shift_dates_may_be_date_objects():
    """Configuration files (TOML) give dates as ``datetime.date``."""
    args = (["GB"], "2024-01-01", "2024-01-04")
    as_text = simulate(*args, shifts=[RegimeShift("2024-01-03", "demand", 0.9)])
    as_date = simulate(*args, shifts=[RegimeShift(date(2024, 1, 3), "demand", 0.9)])  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(as_text["energy_actuals"], as_date["energy_actuals"])


def test_fuel_shift_leaves_earlier_prices_untouched():
    args = (["FR"], "2024-01-01", "2024-01-20")
    base = simulate(*args, shifts=())["energy_prices"]
    shifted = simulate(*args, shifts=(RegimeShift("2024-01-10", "fuel", 1.6),))["energy_prices"]
    before = base.timestamp < pd.Timestamp("2024-01-10", tz="UTC")
    np.testing.assert_array_equal(base.price[before], shifted.price[before])
    assert shifted.price[~before].mean() > 1.3 * base.price[~before].mean()


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": "2024-02-01", "end": "2024-01-01"}, "before start"),
        ({"freq": "fortnightly"}, "unknown freq"),
        ({"freq": "7min"}, "divides a day"),
        ({"markets": []}, "markets is empty"),
        ({"markets": "GB"}, "sequence of names"),
        ({"markets": ["GB", "GB"]}, "repeated"),
        ({"markets": ["GB", ""]}, "non-empty"),
        ({"start": "yesterday-ish"}, "dates like"),
        ({"shifts": [RegimeShift("2024-01-02", "weather", 2.0)]}, "unknown shift kind"),  # type: ignore[arg-type]
        ({"shifts": [RegimeShift("2024-01-02", "fuel", -1.0)]}, "positive"),
        ({"shifts": [RegimeShift("soon", "fuel", 1.5)]}, "not a date"),
        ({"shifts": [RegimeShift("2024-01-02", "fuel", "1.6")]}, "positive"),  # type: ignore[arg-type]
        ({"end": None}, "dates like"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, message):
    args = {"markets": ["GB"], "start": "2024-01-01", "end": "2024-01-03", **kwargs}
    with pytest.raises(ValueError, match=message):
        simulate(**args)
