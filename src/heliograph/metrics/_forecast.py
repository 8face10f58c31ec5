"""Every metric of a forecast (point and, given its quantiles, probabilistic) in one flat dict.

>>> forecast_metrics([10.0, 20.0, float("nan")], [12.0, 18.0, 5.0])
{'mae': 2.0, 'rmse': 2.0, 'smape': 14.354066985645932, 'n': 2}
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ._arrays import ArrayLike, _as_float, _check_q, _rows
from ._point import mae, rmae, rmse, smape
from ._probabilistic import coverage, interval_width, pinball

__all__ = ["forecast_metrics"]


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
