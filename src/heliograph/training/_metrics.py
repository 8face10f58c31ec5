"""Point and probabilistic forecast metrics: NaN-aware, never raising on empty input.

Every function takes array-likes (numpy arrays, pandas Series, lists) matched by position (a
Series' index is ignored; 2-D inputs are flattened). Rows where any input of the metric is NaN
are left out; when no row is left the metric is NaN. Inputs of different lengths raise
``ValueError``.

>>> forecast_metrics([10.0, 20.0, float("nan")], [12.0, 18.0, 5.0])
{'mae': 2.0, 'rmse': 2.0, 'smape': 14.354066985645932, 'n': 2}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "coverage",
    "forecast_metrics",
    "interval_width",
    "mae",
    "pinball",
    "rmae",
    "rmse",
    "smape",
]

ArrayLike = Any  # numpy array, pandas Series/Index, list of numbers


def _as_float(values: ArrayLike) -> np.ndarray:
    if isinstance(values, pd.Series | pd.Index):
        return values.to_numpy(dtype=float, na_value=np.nan).ravel()
    return np.asarray(values, dtype=float).ravel()


def _rows(names: tuple[str, ...], *arrays: ArrayLike) -> list[np.ndarray]:
    """The arrays as 1-D floats, restricted to the rows where none of them is NaN."""
    converted = [_as_float(a) for a in arrays]
    first = converted[0]
    for name, array in zip(names[1:], converted[1:], strict=True):
        if len(array) != len(first):
            raise ValueError(
                f"{names[0]} has {len(first)} values but {name} has {len(array)}; "
                "they must have the same length"
            )
    keep = np.ones(len(first), dtype=bool)
    for array in converted:
        keep &= ~np.isnan(array)
    return [array[keep] for array in converted]


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if len(values) else math.nan


def _check_q(q: float) -> float:
    q = float(q)
    if not 0.0 < q < 1.0:
        raise ValueError(f"quantile level must be strictly between 0 and 1, got {q}")
    return q


def mae(actual: ArrayLike, forecast: ArrayLike) -> float:
    """Mean absolute error.

    >>> mae([1.0, 2.0, 3.0], [2.0, 2.0, 1.0])
    1.0
    """
    a, f = _rows(("actual", "forecast"), actual, forecast)
    return _mean(np.abs(a - f))


def rmse(actual: ArrayLike, forecast: ArrayLike) -> float:
    """Root mean squared error.

    >>> rmse([0.0, 0.0], [3.0, -4.0])  # sqrt((9 + 16) / 2)
    3.5355339059327378
    """
    a, f = _rows(("actual", "forecast"), actual, forecast)
    return math.sqrt(_mean((a - f) ** 2)) if len(a) else math.nan


def smape(actual: ArrayLike, forecast: ArrayLike) -> float:
    """Symmetric MAPE in percent, as in the EPF benchmark: ``100 * mean(2|a-f| / (|a|+|f|))``.

    A row with ``|a| + |f| == 0`` (both exactly zero, a perfect forecast) contributes 0 and still
    counts in the mean. The result lies in [0, 200].

    >>> smape([100.0, 0.0], [50.0, 0.0])  # (2*50/150 + 0) / 2
    33.33333333333333
    """
    a, f = _rows(("actual", "forecast"), actual, forecast)
    denominator = np.abs(a) + np.abs(f)
    terms = np.divide(2.0 * np.abs(a - f), denominator, out=np.zeros_like(a), where=denominator > 0)
    return 100.0 * _mean(terms)


def rmae(actual: ArrayLike, forecast: ArrayLike, naive: ArrayLike) -> float:
    """Relative MAE: MAE of ``forecast`` divided by MAE of ``naive`` over the same rows.

    A row is used only when actual, forecast and naive are all known. When the naive forecast is
    perfect on those rows the result is ``inf`` (or NaN if the forecast is perfect too).

    >>> rmae([10.0, 20.0, 30.0], [11.0, 19.0, float("nan")], [14.0, 16.0, 0.0])
    0.25
    """
    a, f, n = _rows(("actual", "forecast", "naive"), actual, forecast, naive)
    if not len(a):
        return math.nan
    numerator, denominator = _mean(np.abs(a - f)), _mean(np.abs(a - n))
    if denominator == 0.0:
        return math.nan if numerator == 0.0 else math.inf
    return numerator / denominator


def pinball(actual: ArrayLike, quantile_forecast: ArrayLike, q: float) -> float:
    """Mean pinball (quantile) loss of a forecast of the ``q`` quantile, 0 < q < 1.

    Per row: ``q * (a - f)`` when ``a >= f``, else ``(1 - q) * (f - a)``.

    >>> pinball([10.0, 10.0], [8.0, 12.0], 0.9)  # (0.9 * 2 + 0.1 * 2) / 2
    1.0
    """
    q = _check_q(q)
    a, f = _rows(("actual", "quantile_forecast"), actual, quantile_forecast)
    diff = a - f
    return _mean(np.maximum(q * diff, (q - 1.0) * diff))


def coverage(actual: ArrayLike, lower: ArrayLike, upper: ArrayLike) -> float:
    """Share (0 to 1) of actuals inside the closed interval ``[lower, upper]``.

    >>> coverage([1.0, 5.0, 9.0, 3.0], [0.0, 0.0, 0.0, 3.0], [4.0, 4.0, 10.0, 3.0])
    0.75
    """
    a, lo, hi = _rows(("actual", "lower", "upper"), actual, lower, upper)
    return _mean(((a >= lo) & (a <= hi)).astype(float))


def interval_width(lower: ArrayLike, upper: ArrayLike) -> float:
    """Mean width ``upper - lower`` of a prediction interval.

    >>> interval_width([0.0, 1.0], [2.0, 5.0])
    3.0
    """
    lo, hi = _rows(("lower", "upper"), lower, upper)
    return _mean(hi - lo)


def _percent_label(q: float) -> str:
    percent = round(q * 100.0, 6)
    return str(int(percent)) if percent == int(percent) else f"{percent:g}"


def _find_level(quantiles: Mapping[float, ArrayLike], q: float) -> ArrayLike | None:
    for level, values in quantiles.items():
        if math.isclose(float(level), q, abs_tol=1e-9):
            return values
    return None


def forecast_metrics(
    actual: ArrayLike,
    p50: ArrayLike,
    *,
    naive: ArrayLike | None = None,
    quantiles: Mapping[float, ArrayLike] | None = None,
    lower_q: float = 0.1,
    upper_q: float = 0.9,
) -> dict[str, float]:
    """All the metrics of a forecast, in one flat dict ready to log.

    Always ``mae``, ``rmse``, ``smape`` (percent) and ``n``, the number of rows where both
    ``actual`` and ``p50`` are known (the rows these three use). With ``naive``: ``rmae`` (over
    the rows where all three are known). With ``quantiles`` (level -> forecast of that
    quantile): ``pinball_qXX`` per level, XX the level in percent (``pinball_q50`` is computed
    from ``p50`` when 0.5 is not among the levels); and, when both ``lower_q`` and ``upper_q``
    are levels, ``coverage_YY`` (YY = nominal coverage in percent, 80 for 0.1/0.9) and
    ``interval_width``. Empty input gives NaN for every metric and ``n == 0``.

    >>> m = forecast_metrics([1.0, 2.0], [1.0, 3.0], quantiles={0.1: [0.0, 1.0], 0.9: [2.0, 4.0]})
    >>> m["mae"], m["n"], m["coverage_80"], m["interval_width"]
    (0.5, 2, 1.0, 2.5)
    """
    a, f = _as_float(actual), _as_float(p50)
    # Validate every length up front, so a mismatch raises even when some metrics are skipped.
    others: dict[str, ArrayLike] = {"p50": f}
    if naive is not None:
        others["naive"] = naive
    for level, values in (quantiles or {}).items():
        others[f"quantiles[{level}]"] = values
    for name, values in others.items():
        _rows(("actual", name), a, values)

    n = int(np.count_nonzero(~np.isnan(a) & ~np.isnan(f)))
    result: dict[str, float] = {
        "mae": mae(a, f),
        "rmse": rmse(a, f),
        "smape": smape(a, f),
        "n": n,
    }
    if naive is not None:
        result["rmae"] = rmae(a, f, naive)
    if quantiles is not None:
        levels = {_check_q(level): values for level, values in quantiles.items()}
        if _find_level(levels, 0.5) is None:
            levels[0.5] = f
        for level in sorted(levels):
            result[f"pinball_q{_percent_label(level)}"] = pinball(a, levels[level], level)
        lower_q, upper_q = _check_q(lower_q), _check_q(upper_q)
        if lower_q >= upper_q:
            raise ValueError(f"lower_q ({lower_q}) must be below upper_q ({upper_q})")
        lower, upper = _find_level(levels, lower_q), _find_level(levels, upper_q)
        if lower is not None and upper is not None:
            label = _percent_label(upper_q - lower_q)
            result[f"coverage_{label}"] = coverage(a, lower, upper)
            result["interval_width"] = interval_width(lower, upper)
    return result
