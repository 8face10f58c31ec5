"""Metrics: pure functions shared by training, monitoring and reports.

- point (``mae``, ``rmse``, ``smape``, ``rmae``), probabilistic (``pinball``, ``coverage``,
  ``interval_width``) and ``forecast_metrics``, all of them in one flat dict. They take
  array-likes matched by position; rows where any input is NaN are left out, and a metric over
  no row is NaN, never an error. Inputs of different lengths raise ``ValueError``;
- drift statistics (``ks_statistic``, ``psi``, ``wasserstein``, ``jensen_shannon``,
  ``chi2_categories``);
- ranking (``hit_rate_at_k``, ``ndcg_at_k``, ``catalogue_coverage``, ``intra_list_diversity``).

Imports nothing of heliograph but ``core``.

>>> from heliograph.metrics import mae, hit_rate_at_k
>>> mae([1.0, 2.0, 3.0], [2.0, 2.0, 1.0])
1.0
>>> hit_rate_at_k([[1, 2]], [{2}], k=2)
1.0
"""

from __future__ import annotations

from ._arrays import *  # noqa: F403
from ._arrays import __all__ as _arrays_all
from ._drift import *  # noqa: F403
from ._drift import __all__ as _drift_all
from ._forecast import *  # noqa: F403
from ._forecast import __all__ as _forecast_all
from ._point import *  # noqa: F403
from ._point import __all__ as _point_all
from ._probabilistic import *  # noqa: F403
from ._probabilistic import __all__ as _probabilistic_all
from ._ranking import *  # noqa: F403
from ._ranking import __all__ as _ranking_all

__all__ = sorted(
    [
        *_arrays_all,
        *_drift_all,
        *_forecast_all,
        *_point_all,
        *_probabilistic_all,
        *_ranking_all,
    ]
)
