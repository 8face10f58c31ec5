"""Point-forecast metrics: MAE, RMSE, sMAPE and the relative MAE against a naive forecast.

NaN-aware and never raising on empty input (see ``heliograph.metrics`` for the input rules).

>>> mae([1.0, 2.0, 3.0], [2.0, 2.0, 1.0])
1.0
"""

from __future__ import annotations

import math

import numpy as np

from ._arrays import ArrayLike, _mean, _rows

__all__ = ["mae", "rmae", "rmse", "smape"]


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
