"""Drift of every column of a frame against a reference frame, computed in bulk.

Numbers get the population stability index (over the reference's deciles, as
``heliograph.metrics.psi``), the Kolmogorov–Smirnov statistic and the Wasserstein distance
in reference standard deviations (the distance over ``std(reference)``, so one threshold
fits every column; Evidently's normed Wasserstein is the same figure). Each sample is sorted
once and all three come from the two sorted arrays: both empirical distribution functions
on the merged values give KS (their largest gap) and Wasserstein (the area between them),
the figures scipy's ``ks_2samp`` and ``wasserstein_distance`` give, without their copies.
Categories get the Jensen–Shannon distance (base 2) and the chi² test's p-value, from one
count of each category (scipy computes both).

Example::

    [d.statistics["psi"] for d in frame_drift(training, live, columns=["load"])]
    # [0.031]
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "CATEGORY_STATISTICS",
    "NUMERIC_STATISTICS",
    "ColumnDrift",
    "column_drift",
    "frame_drift",
    "unmatched_patterns",
    "watched_columns",
]

NUMERIC_STATISTICS = ("psi", "ks", "wasserstein")
"""The statistics of a numeric column, each where higher means more drift."""
CATEGORY_STATISTICS = ("jensen_shannon", "chi2_pvalue")
"""The statistics of a category column (``chi2_pvalue``: lower means more drift)."""

_EPS = 1e-6  # PSI's floor for an empty bin, as heliograph.metrics.psi
_BINS = 10
_CHUNK = 1 << 20  # merged values per step of the KS / Wasserstein pass


@dataclass(frozen=True)
class ColumnDrift:
    """The drift of one column: ``kind`` is ``"numeric"`` or ``"category"``; ``statistics``
    maps each statistic's name to its value (NaN when a side has no value)."""

    feature: str
    kind: str
    statistics: dict[str, float]
    reference_count: int
    current_count: int


def _finite(values: Any) -> np.ndarray:
    array = np.asarray(values, dtype="float64").ravel()
    finite = np.isfinite(array)
    return array if finite.all() else array[finite]


def _psi_sorted(ref: np.ndarray, cur: np.ndarray) -> float:
    """PSI over the reference's quantile bins, from sorted samples (bin counts are
    ``searchsorted`` of the inner edges: no pass over the data)."""
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, _BINS + 1)))
    if len(edges) < 2:  # a constant reference: that value, and everything else
        same = float(np.mean(cur == edges[0]))
        expected = np.array([1.0, _EPS])
        actual = np.array([max(same, _EPS), max(1 - same, _EPS)])
    else:
        inner = edges[1:-1]
        below_ref = np.searchsorted(ref, inner, side="left")
        below_cur = np.searchsorted(cur, inner, side="left")
        expected = np.diff(np.concatenate([[0], below_ref, [len(ref)]])) / len(ref)
        actual = np.diff(np.concatenate([[0], below_cur, [len(cur)]])) / len(cur)
        expected, actual = np.maximum(expected, _EPS), np.maximum(actual, _EPS)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def _cdf_gaps(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float]:
    """(KS, Wasserstein) of two sorted samples, in one pass over their merged order.

    The smaller sample's places in the merged order come from one ``searchsorted`` into
    the larger; then, chunk by chunk, the running counts of each side give both empirical
    distribution functions at every merged value: KS is their largest gap (taken where the
    value changes, so ties count whole), Wasserstein the area between them. Memory: a
    boolean per value and a chunk, never a merged copy of both samples.
    """
    small, large = (ref, cur) if len(ref) <= len(cur) else (cur, ref)
    total = len(small) + len(large)
    in_small = np.zeros(total, dtype=bool)
    in_small[np.searchsorted(large, small, side="right") + np.arange(len(small))] = True
    ks = distance = 0.0
    taken_small = taken_large = 0
    scale = len(small) * len(large)  # gaps as integers: |F_s - F_l| = |c_s L - c_l S| / (S L)
    positions = np.arange(1, min(_CHUNK, total) + 1)
    for start in range(0, total, _CHUNK):
        mask = in_small[start : start + _CHUNK]
        count = len(mask)
        k = int(np.count_nonzero(mask))
        values = np.empty(count + 1)
        values[:count][mask] = small[taken_small : taken_small + k]
        values[:count][~mask] = large[taken_large : taken_large + count - k]
        counts_small = taken_small + np.cumsum(mask)
        counts_large = (start + positions[:count]) - counts_small
        taken_small, taken_large = taken_small + k, taken_large + count - k
        end = start + count
        if end < total:  # the next merged value, for the last step of this chunk
            values[count] = small[taken_small] if in_small[end] else large[taken_large]
        else:
            values[count] = values[count - 1]
        gap = np.abs(counts_small * len(large) - counts_large * len(small))
        step = np.diff(values)
        distance += float(np.dot(gap, step))
        changes = gap[step > 0]
        if len(changes):
            ks = max(ks, float(changes.max()))
    return ks / scale, distance / scale


def _numeric(reference: Any, current: Any) -> tuple[dict[str, float], int, int]:
    ref, cur = np.sort(_finite(reference)), np.sort(_finite(current))
    if not len(ref) or not len(cur):
        return dict.fromkeys(NUMERIC_STATISTICS, float("nan")), len(ref), len(cur)
    ks, distance = _cdf_gaps(ref, cur)
    spread = float(np.std(ref))
    wasserstein = distance / spread if spread > 0 else (0.0 if distance == 0 else float("inf"))
    statistics = {"psi": _psi_sorted(ref, cur), "ks": ks, "wasserstein": wasserstein}
    return statistics, len(ref), len(cur)


def _category(reference: Any, current: Any) -> tuple[dict[str, float], int, int]:
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import chi2_contingency

    ref = pd.Series(reference).dropna()
    cur = pd.Series(current).dropna()
    codes, uniques = pd.factorize(pd.concat([ref, cur], ignore_index=True))
    counts_ref = np.bincount(codes[: len(ref)], minlength=len(uniques)).astype("float64")
    counts_cur = np.bincount(codes[len(ref) :], minlength=len(uniques)).astype("float64")
    if not counts_ref.sum() or not counts_cur.sum():
        return dict.fromkeys(CATEGORY_STATISTICS, float("nan")), len(ref), len(cur)
    js = float(jensenshannon(counts_ref / counts_ref.sum(), counts_cur / counts_cur.sum(), base=2))
    pvalue = 1.0
    if len(uniques) >= 2:
        pvalue = float(chi2_contingency(np.vstack([counts_ref, counts_cur])).pvalue)
    return {"jensen_shannon": js, "chi2_pvalue": pvalue}, len(ref), len(cur)


def _is_numeric(values: Any) -> bool:
    dtype = getattr(values, "dtype", np.asarray(values).dtype)
    return bool(pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype))


def column_drift(feature: str, reference: Any, current: Any) -> ColumnDrift:
    """The drift of one column (numbers or categories, by the reference's dtype)."""
    numeric = _is_numeric(reference)
    statistics, n_ref, n_cur = (_numeric if numeric else _category)(reference, current)
    return ColumnDrift(feature, "numeric" if numeric else "category", statistics, n_ref, n_cur)


def frame_drift(
    reference: pd.DataFrame, current: pd.DataFrame, *, columns: Sequence[str] | None = None
) -> list[ColumnDrift]:
    """The drift of each of ``columns`` (default: every column both frames have)."""
    names = columns if columns is not None else [c for c in reference if c in current]
    return [column_drift(name, reference[name], current[name]) for name in names]


def watched_columns(columns: Sequence[str], patterns: Sequence[str] | None) -> list[str]:
    """The ``columns`` whose drift is watched, by ``patterns`` (shell-style, as ``fnmatch``;
    one starting with ``!`` excludes): a column is watched when the last pattern it matches
    includes it. None or no pattern: every column. A list that starts with an exclusion
    starts from every column ("all but the calendar": ``["!doy", "!hour"]``).

    Example::

        watched_columns(["price_lag_1d", "doy", "prediction"], ["*", "!doy"])
        # ['price_lag_1d', 'prediction']
        watched_columns(["price_lag_1d", "doy", "prediction"], ["!doy"])
        # ['price_lag_1d', 'prediction']
    """
    if not patterns:
        return list(columns)
    found = []
    start = patterns[0].startswith("!")
    for column in columns:
        keep = start
        for pattern in patterns:
            negated = pattern.startswith("!")
            if fnmatch.fnmatchcase(column, pattern[1:] if negated else pattern):
                keep = not negated
        if keep:
            found.append(column)
    return found


def unmatched_patterns(columns: Sequence[str], patterns: Sequence[str] | None) -> list[str]:
    """The including patterns of ``patterns`` (not ``!`` excludes) that match none of
    ``columns``: a name mistyped, or a column the reference does not have, watches nothing.

    Example::

        unmatched_patterns(["price_lag_1d", "prediction"], ["price_lags_*", "!doy"])
        # ['price_lags_*']
    """
    return [
        p
        for p in patterns or ()
        if not p.startswith("!") and not any(fnmatch.fnmatchcase(c, p) for c in columns)
    ]
