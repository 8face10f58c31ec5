"""Live metrics per model version and role, against heliograph.metrics' definitions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from heliograph.metrics import coverage, mae, pinball, rmse
from heliograph.monitoring import performance, quantile_columns


def judged_frame(seed: int = 0, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    actual = rng.normal(60, 10, n)
    p50 = actual + rng.normal(0, 5, n)
    frame = pd.DataFrame(
        {
            "model_name": "energy-price-GB",
            "model_version": np.where(np.arange(n) % 2, "3", "4"),
            "role": np.where(np.arange(n) % 2, "champion", "challenger"),
            "p10": p50 - 6,
            "p50": p50,
            "p90": p50 + 6,
            "actual": actual,
        }
    )
    frame.loc[:9, "actual"] = np.nan  # not judged yet: left out
    return frame


def test_each_version_gets_the_metrics_of_its_own_rows() -> None:
    frame = judged_frame()
    table = performance(frame).set_index("model_version")
    for version in ("3", "4"):
        rows = frame[(frame["model_version"] == version) & frame["actual"].notna()]
        got = table.loc[version]
        assert got["count"] == len(rows)
        assert got["mae"] == pytest.approx(mae(rows["actual"], rows["p50"]))
        assert got["rmse"] == pytest.approx(rmse(rows["actual"], rows["p50"]))
        assert got["pinball_p90"] == pytest.approx(pinball(rows["actual"], rows["p90"], 0.9))
        mean_loss = np.mean(
            [
                pinball(rows["actual"], rows[q], lv)
                for q, lv in (("p10", 0.1), ("p50", 0.5), ("p90", 0.9))
            ]
        )
        assert got["pinball"] == pytest.approx(mean_loss)
        assert got["coverage"] == pytest.approx(coverage(rows["actual"], rows["p10"], rows["p90"]))
        assert got["nominal"] == pytest.approx(0.8)


def test_the_apps_business_metric_is_computed_per_version() -> None:
    frame = judged_frame()
    table = performance(
        frame,
        business=lambda rows: float((rows["p50"] > rows["actual"]).mean()),
        business_name="over",
    ).set_index("model_version")
    rows = frame[(frame["model_version"] == "3") & frame["actual"].notna()]
    assert table.loc["3", "over"] == pytest.approx(float((rows["p50"] > rows["actual"]).mean()))


def test_no_actual_no_rows_and_quantile_columns_are_named_pNN() -> None:
    frame = judged_frame().assign(actual=np.nan)
    assert performance(frame).empty
    assert quantile_columns(frame) == {"p10": 0.1, "p50": 0.5, "p90": 0.9}
