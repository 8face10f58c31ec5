"""Metrics: pure functions of actuals and forecasts, shared by training, monitoring and reports.

Point (``mae``, ``rmse``, ``smape``, ``rmae``), probabilistic (``pinball``, ``coverage``,
``interval_width``) and ``forecast_metrics``, all of them in one flat dict. Every function takes
array-likes (numpy arrays, pandas Series, lists) matched by position; rows where any input is
NaN are left out, and a metric over no row is NaN, never an error. Inputs of different lengths
raise ``ValueError``. Imports nothing of heliograph (the layer rules allow ``core``).

>>> from heliograph.metrics import forecast_metrics, mae
>>> mae([1.0, 2.0, 3.0], [2.0, 2.0, 1.0])
1.0
"""

from __future__ import annotations

from ._arrays import *  # noqa: F403
from ._arrays import __all__ as _arrays_all
from ._forecast import *  # noqa: F403
from ._forecast import __all__ as _forecast_all
from ._point import *  # noqa: F403
from ._point import __all__ as _point_all
from ._probabilistic import *  # noqa: F403
from ._probabilistic import __all__ as _probabilistic_all

__all__ = sorted([*_arrays_all, *_forecast_all, *_point_all, *_probabilistic_all])
