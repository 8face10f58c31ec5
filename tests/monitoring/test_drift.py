"""Drift per column: the bulk statistics agree with the reference implementations (scipy,
heliograph.metrics) on samples with ties and NaN, and a real shift is measured as one."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from heliograph.metrics import jensen_shannon, ks_statistic, psi, wasserstein
from heliograph.monitoring import column_drift, frame_drift


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_numeric_statistics_equal_scipy_and_the_metrics_package(seed: int) -> None:
    rng = np.random.default_rng(seed)
    reference = np.round(rng.normal(0, 1, 3000), 1)  # rounded: many ties
    current = np.round(rng.normal(0.3, 1.2, 2000), 1)
    current[:10] = np.nan
    drift = column_drift("load", reference, current)
    assert drift.kind == "numeric"
    assert drift.current_count == 1990
    assert drift.statistics["ks"] == pytest.approx(ks_statistic(reference, current), abs=1e-12)
    assert drift.statistics["psi"] == pytest.approx(psi(reference, current), abs=1e-12)
    normed = wasserstein(reference, current) / np.std(reference)
    assert drift.statistics["wasserstein"] == pytest.approx(normed, rel=1e-9)


def test_a_shift_is_drift_and_the_same_sample_is_none() -> None:
    rng = np.random.default_rng(3)
    reference = rng.normal(0, 1, 5000)
    same = column_drift("x", reference, reference).statistics
    assert same["ks"] == 0 and same["wasserstein"] == 0 and same["psi"] < 1e-9
    moved = column_drift("x", reference, reference + 1).statistics
    assert moved["wasserstein"] == pytest.approx(1 / np.std(reference), rel=1e-9)
    assert moved["psi"] > 0.25 and moved["ks"] > 0.3


def test_categories_get_jensen_shannon_and_chi2() -> None:
    reference = pd.Series(["a"] * 50 + ["b"] * 50 + [None] * 5)
    current = pd.Series(["a"] * 80 + ["b"] * 15 + ["c"] * 5)
    drift = column_drift("zone", reference, current)
    assert drift.kind == "category"
    assert drift.statistics["jensen_shannon"] == pytest.approx(
        jensen_shannon(reference, current), abs=1e-12
    )
    assert drift.statistics["chi2_pvalue"] < 1e-3
    steady = column_drift("zone", reference, reference).statistics
    assert steady["jensen_shannon"] == 0 and steady["chi2_pvalue"] == pytest.approx(1.0)


def test_an_empty_side_gives_nan_and_frames_compare_their_shared_columns() -> None:
    assert all(math.isnan(v) for v in column_drift("x", [1.0, 2.0], []).statistics.values())
    reference = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "x"], "only_ref": [1, 2, 3]})
    current = pd.DataFrame({"a": [2.0, 3.0, 4.0], "b": ["x", "x", "x"]})
    assert [(d.feature, d.kind) for d in frame_drift(reference, current)] == [
        ("a", "numeric"),
        ("b", "category"),
    ]


def test_the_merged_pass_is_exact_across_chunk_boundaries(monkeypatch: pytest.MonkeyPatch) -> None:
    from heliograph.monitoring import _drift

    rng = np.random.default_rng(4)
    reference = np.round(rng.normal(0, 1, 501), 1)
    current = np.round(rng.normal(0.2, 1, 333), 1)
    whole = column_drift("x", reference, current).statistics
    monkeypatch.setattr(_drift, "_CHUNK", 7)  # many chunks, ties across their edges
    chunked = column_drift("x", reference, current).statistics
    assert chunked == pytest.approx(whole, abs=1e-12)
    assert chunked["ks"] == pytest.approx(ks_statistic(reference, current), abs=1e-12)
