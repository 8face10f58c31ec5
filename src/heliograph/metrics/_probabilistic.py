"""Probabilistic-forecast metrics: the pinball loss of a quantile, interval coverage and width.

NaN-aware and never raising on empty input (see ``heliograph.metrics`` for the input rules).

>>> pinball([10.0, 10.0], [8.0, 12.0], 0.9)
1.0
"""

from __future__ import annotations

import numpy as np

from ._arrays import ArrayLike, _check_q, _mean, _rows

__all__ = ["coverage", "interval_width", "pinball"]


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
