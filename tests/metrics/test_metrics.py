"""Forecast metrics: hand-computed values, NaN and empty handling, and the EPF paper's figures."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from heliograph.metrics import (
    coverage,
    forecast_metrics,
    interval_width,
    mae,
    pinball,
    rmae,
    rmse,
    smape,
)

EPF = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "epf"
NAN = math.nan

# --- hand-computed values --------------------------------------------------------------------


def test_point_metrics_by_hand() -> None:
    actual = [10.0, 20.0, 30.0, 40.0]
    forecast = [12.0, 18.0, 33.0, 40.0]  # errors 2, 2, 3, 0
    assert mae(actual, forecast) == pytest.approx(7 / 4)
    assert rmse(actual, forecast) == pytest.approx(math.sqrt((4 + 4 + 9 + 0) / 4))
    expected = 100 * np.mean([4 / 22, 4 / 38, 6 / 63, 0.0])
    assert smape(actual, forecast) == pytest.approx(expected)


def test_smape_counts_zero_over_zero_as_zero() -> None:
    # (2 * 50 / 150 + 0) / 2: the all-zero row is a perfect forecast and still counts.
    assert smape([100.0, 0.0], [50.0, 0.0]) == pytest.approx(100 / 3)
    assert smape([0.0], [0.0]) == 0.0
    assert smape([0.0], [5.0]) == pytest.approx(200.0)  # the bound
    assert smape([-10.0], [10.0]) == pytest.approx(200.0)  # negative prices use |a| + |f|


def test_rmae_uses_the_same_rows() -> None:
    actual = [10.0, 20.0, 30.0, 40.0]
    forecast = [11.0, 19.0, NAN, 50.0]
    naive = [14.0, 16.0, 0.0, NAN]
    # Only rows 0 and 1 have all three: MAE 1 vs naive MAE 4.
    assert rmae(actual, forecast, naive) == pytest.approx(0.25)
    # A perfect naive: 0/0 is NaN, anything else over 0 is infinite.
    assert math.isnan(rmae([1.0, 2.0], [1.0, 2.0], [1.0, 2.0]))
    assert rmae([1.0, 2.0], [1.5, 2.0], [1.0, 2.0]) == math.inf
    assert math.isnan(rmae([1.0], [NAN], [1.0]))


def test_pinball_by_hand() -> None:
    actual = [10.0, 10.0, 10.0]
    forecast = [8.0, 12.0, 10.0]
    # q=0.9: under-forecast by 2 costs 0.9*2, over-forecast by 2 costs 0.1*2, exact costs 0.
    assert pinball(actual, forecast, 0.9) == pytest.approx((1.8 + 0.2 + 0) / 3)
    assert pinball(actual, forecast, 0.1) == pytest.approx((0.2 + 1.8 + 0) / 3)
    # At the median the pinball loss is half the absolute error.
    assert pinball(actual, forecast, 0.5) == pytest.approx(mae(actual, forecast) / 2)
    for bad in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            pinball(actual, forecast, bad)


def test_coverage_and_width_by_hand() -> None:
    actual = [1.0, 5.0, 9.0, 3.0, NAN]
    lower = [0.0, 0.0, 0.0, 3.0, 0.0]
    upper = [4.0, 4.0, 10.0, 3.0, 1.0]
    assert coverage(actual, lower, upper) == pytest.approx(3 / 4)  # bounds are inclusive
    assert interval_width(lower, upper) == pytest.approx((4 + 4 + 10 + 0 + 1) / 5)


def test_nan_rows_are_excluded() -> None:
    actual = pd.Series([10.0, NAN, 30.0, 40.0])
    forecast = np.array([12.0, 5.0, NAN, 44.0])
    assert mae(actual, forecast) == pytest.approx(3.0)
    metrics = forecast_metrics(actual, forecast)
    assert metrics["n"] == 2
    assert metrics["mae"] == pytest.approx(3.0)


def test_nullable_and_list_inputs() -> None:
    actual = pd.Series([10.0, None, 30.0], dtype="Float64")
    assert mae(actual, [11.0, 1.0, 33.0]) == pytest.approx(2.0)
    assert mae([[1.0, 2.0]], [[2.0, 4.0]]) == pytest.approx(1.5)  # 2-D is flattened


@pytest.mark.parametrize("fn", [mae, rmse, smape])
def test_empty_and_all_nan_give_nan(fn) -> None:
    assert math.isnan(fn([], []))
    assert math.isnan(fn([NAN, 1.0], [2.0, NAN]))


def test_empty_metrics_never_raise() -> None:
    metrics = forecast_metrics(
        [], [], naive=[], quantiles={0.1: [], 0.5: [], 0.9: []}, lower_q=0.1, upper_q=0.9
    )
    assert metrics["n"] == 0
    assert set(metrics) == {
        "mae",
        "rmse",
        "smape",
        "n",
        "rmae",
        "pinball_q10",
        "pinball_q50",
        "pinball_q90",
        "coverage_80",
        "interval_width",
    }
    assert all(math.isnan(value) for key, value in metrics.items() if key != "n")
    assert math.isnan(coverage([], [], [])) and math.isnan(interval_width([], []))
    assert math.isnan(pinball([], [], 0.5))


def test_mismatched_lengths_name_both() -> None:
    with pytest.raises(ValueError, match=r"actual has 3 values but forecast has 2"):
        mae([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"3 .* 4"):
        forecast_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], naive=[1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match=r"3 .* 2"):
        forecast_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], quantiles={0.1: [0.0, 1.0]})


# --- forecast_metrics ------------------------------------------------------------------------


def test_forecast_metrics_keys_and_values() -> None:
    actual = np.array([10.0, 20.0, 30.0, 40.0])
    p50 = np.array([12.0, 18.0, 33.0, 40.0])
    lower, upper = p50 - 5, p50 + 1
    metrics = forecast_metrics(
        actual, p50, naive=np.array([14.0, 16.0, 26.0, 44.0]), quantiles={0.1: lower, 0.9: upper}
    )
    assert list(metrics) == [
        "mae",
        "rmse",
        "smape",
        "n",
        "rmae",
        "pinball_q10",
        "pinball_q50",
        "pinball_q90",
        "coverage_80",
        "interval_width",
    ]
    assert metrics["n"] == 4 and isinstance(metrics["n"], int)
    assert metrics["mae"] == pytest.approx(mae(actual, p50))
    assert metrics["rmae"] == pytest.approx((7 / 4) / 4.0)
    assert metrics["pinball_q50"] == pytest.approx(mae(actual, p50) / 2)  # from p50
    assert metrics["pinball_q10"] == pytest.approx(pinball(actual, lower, 0.1))
    assert metrics["pinball_q90"] == pytest.approx(pinball(actual, upper, 0.9))
    # Intervals [7, 13], [13, 19], [28, 34], [35, 41]: 20 is outside, the rest inside.
    assert metrics["coverage_80"] == pytest.approx(0.75)
    assert metrics["interval_width"] == pytest.approx(6.0)


def test_forecast_metrics_other_levels() -> None:
    actual = [1.0, 2.0, 3.0]
    quantiles = {0.05: [0.0, 0.0, 0.0], 0.5: [1.0, 2.0, 2.0], 0.95: [5.0, 5.0, 5.0]}
    metrics = forecast_metrics(actual, [9.0, 9.0, 9.0], quantiles=quantiles)
    assert "coverage_80" not in metrics and "interval_width" not in metrics  # no 0.1/0.9
    assert metrics["pinball_q50"] == pytest.approx(pinball(actual, quantiles[0.5], 0.5))
    assert {"pinball_q5", "pinball_q95"} <= set(metrics)
    metrics = forecast_metrics(actual, actual, quantiles=quantiles, lower_q=0.05, upper_q=0.95)
    assert metrics["coverage_90"] == 1.0
    assert metrics["interval_width"] == pytest.approx(5.0)
    metrics = forecast_metrics(actual, actual, quantiles={0.025: actual, 0.975: actual})
    assert {"pinball_q2.5", "pinball_q97.5", "pinball_q50"} <= set(metrics)
    with pytest.raises(ValueError, match="lower_q"):
        forecast_metrics(actual, actual, quantiles=quantiles, lower_q=0.95, upper_q=0.05)


# --- the EPF benchmark's published figures ---------------------------------------------------

# /work/shared/data/README.md: MAE / rMAE / sMAPE / RMSE over each market's test period.
PUBLISHED = {
    ("BE", "LEAR Ensemble"): (6.140, 0.604, 14.55, 15.974),
    ("BE", "DNN Ensemble"): (5.870, 0.578, 13.45, 15.966),
    ("FR", "LEAR Ensemble"): (3.980, 0.543, 11.57, 10.676),
    ("FR", "DNN Ensemble"): (3.866, 0.527, 10.81, 11.867),
    ("DE", "LEAR Ensemble"): (3.609, 0.395, 14.74, 6.508),
    ("DE", "DNN Ensemble"): (3.413, 0.374, 14.08, 5.927),
}
WEEK = 168  # hours


def _reference(market: str) -> tuple[pd.DataFrame, pd.Series]:
    forecasts = EPF / "reference-forecasts" / f"Forecasts_{market}_DNN_LEAR_ensembles.csv"
    history = EPF / f"{market}.csv"
    if not forecasts.exists() or not history.exists():
        pytest.skip(f"EPF benchmark data for {market} not found under {EPF}")
    frame = pd.read_csv(forecasts, index_col=0)
    frame.index = pd.to_datetime(frame.index)
    raw = pd.read_csv(history)  # columns by position: timestamp, price, exogenous...
    prices = pd.Series(raw.iloc[:, 1].to_numpy(dtype=float), index=pd.to_datetime(raw.iloc[:, 0]))
    return frame, prices


@pytest.mark.parametrize(("market", "model"), list(PUBLISHED))
def test_epf_published_figures(market: str, model: str) -> None:
    frame, prices = _reference(market)
    published_mae, published_rmae, published_smape, published_rmse = PUBLISHED[market, model]
    actual, forecast = frame["Real price"], frame[model]
    assert len(frame) == 728 * 24
    assert np.array_equal(prices.reindex(frame.index).to_numpy(), actual.to_numpy())

    metrics = forecast_metrics(actual, forecast)
    assert metrics["n"] == len(frame)
    assert metrics["mae"] == pytest.approx(published_mae, abs=5e-4)
    assert metrics["smape"] == pytest.approx(published_smape, abs=5e-3)
    assert metrics["rmse"] == pytest.approx(published_rmse, abs=5e-4)

    # The published rMAE follows epftoolbox: the weekly naive is built from the test period's
    # own prices, so its MAE leaves out the first week while the forecast's MAE covers it all.
    in_period_naive = actual.shift(WEEK)
    published_convention = mae(actual, forecast) / mae(actual, in_period_naive)
    assert published_convention == pytest.approx(published_rmae, abs=1e-3)


def test_epf_be_rmae_over_the_same_rows() -> None:
    """``rmae`` compares both forecasts on the same rows; with the history before the test
    period the weekly naive covers every row, which gives 0.6067 for BE's LEAR ensemble
    (published, in epftoolbox's convention: 0.604)."""
    frame, prices = _reference("BE")
    actual, forecast = frame["Real price"], frame["LEAR Ensemble"]
    naive = prices.shift(WEEK).reindex(frame.index)
    assert not naive.isna().any()
    metrics = forecast_metrics(actual, forecast, naive=naive)
    assert metrics["rmae"] == pytest.approx(0.6067, abs=5e-4)
    # Without the history the first week drops out of both MAEs: almost the same figure.
    assert rmae(actual, forecast, actual.shift(WEEK)) == pytest.approx(0.6066, abs=5e-4)
