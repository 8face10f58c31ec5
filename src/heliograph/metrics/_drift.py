"""Drift statistics: how far a sample of values has moved from a reference sample.

Pure functions of two samples (``reference`` first, ``current`` second), NaN left out. Numbers:
the Kolmogorov–Smirnov statistic (largest gap between the empirical distribution functions,
0 to 1), the Wasserstein distance (in the values' unit) and the population stability index
(PSI, over the reference's deciles). Categories: the Jensen–Shannon distance (base 2, 0 to 1)
and the chi² test of homogeneity. scipy computes each where it has it.

>>> ks_statistic([1, 2, 3, 4], [3, 4, 5, 6])
0.5
>>> round(jensen_shannon(["a", "a", "b"], ["a", "b", "b"]), 3)
0.286
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["chi2_categories", "jensen_shannon", "ks_statistic", "psi", "wasserstein"]

_EPS = 1e-6  # PSI's floor for an empty bin: log(0) would make one empty bin infinite


def _finite(values: Iterable[float] | np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype="float64").ravel()
    return array[np.isfinite(array)]


def ks_statistic(reference: Iterable[float], current: Iterable[float]) -> float:
    """Two-sample Kolmogorov–Smirnov statistic, 0 (same) to 1 (disjoint); NaN if a side is empty."""
    from scipy.stats import ks_2samp

    ref, cur = _finite(reference), _finite(current)
    if not len(ref) or not len(cur):
        return float("nan")
    return float(ks_2samp(cur, ref).statistic)


def wasserstein(reference: Iterable[float], current: Iterable[float]) -> float:
    """Earth mover's distance between the two samples, in the values' unit."""
    from scipy.stats import wasserstein_distance

    ref, cur = _finite(reference), _finite(current)
    if not len(ref) or not len(cur):
        return float("nan")
    return float(wasserstein_distance(ref, cur))


def psi(reference: Iterable[float], current: Iterable[float], *, bins: int = 10) -> float:
    """Population stability index over the reference's quantile bins.

    Conventional reading: below 0.1 stable, 0.1–0.25 a moderate shift, above 0.25 a large one.
    """
    ref, cur = _finite(reference), _finite(current)
    if not len(ref) or not len(cur):
        return float("nan")
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:  # a constant reference: one bin, and whatever is not that value
        same = float(np.mean(cur == edges[0]))
        expected, actual = np.array([1.0, _EPS]), np.array([max(same, _EPS), max(1 - same, _EPS)])
    else:
        inner = edges[1:-1]
        expected = np.bincount(np.searchsorted(inner, ref, side="right"), minlength=len(edges) - 1)
        actual = np.bincount(np.searchsorted(inner, cur, side="right"), minlength=len(edges) - 1)
        expected = np.maximum(expected / len(ref), _EPS)
        actual = np.maximum(actual / len(cur), _EPS)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def _frequencies(reference: Iterable[Any], current: Iterable[Any]) -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd

    ref = pd.Series(list(reference), dtype=object).dropna().value_counts()
    cur = pd.Series(list(current), dtype=object).dropna().value_counts()
    index = ref.index.union(cur.index)
    return (
        ref.reindex(index, fill_value=0).to_numpy(dtype="float64"),
        cur.reindex(index, fill_value=0).to_numpy(dtype="float64"),
    )


def jensen_shannon(reference: Iterable[Any], current: Iterable[Any]) -> float:
    """Jensen–Shannon distance (base 2) between the category frequencies, 0 (same) to 1."""
    from scipy.spatial.distance import jensenshannon

    ref, cur = _frequencies(reference, current)
    if not ref.sum() or not cur.sum():
        return float("nan")
    return float(jensenshannon(ref / ref.sum(), cur / cur.sum(), base=2))


def chi2_categories(reference: Iterable[Any], current: Iterable[Any]) -> tuple[float, float]:
    """(statistic, p-value) of the chi² test that both samples share one category distribution."""
    from scipy.stats import chi2_contingency

    ref, cur = _frequencies(reference, current)
    if not ref.sum() or not cur.sum() or len(ref) < 2:
        return 0.0, 1.0
    result = chi2_contingency(np.vstack([ref, cur]))
    return float(result.statistic), float(result.pvalue)
