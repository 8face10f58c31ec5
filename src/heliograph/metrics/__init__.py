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

from ._arrays import ArrayLike
from ._drift import chi2_categories, jensen_shannon, ks_statistic, psi, wasserstein
from ._forecast import forecast_metrics
from ._point import mae, rmae, rmse, smape
from ._probabilistic import coverage, interval_width, pinball
from ._ranking import catalogue_coverage, hit_rate_at_k, intra_list_diversity, ndcg_at_k

__all__ = [
    "ArrayLike",
    "catalogue_coverage",
    "chi2_categories",
    "coverage",
    "forecast_metrics",
    "hit_rate_at_k",
    "interval_width",
    "intra_list_diversity",
    "jensen_shannon",
    "ks_statistic",
    "mae",
    "ndcg_at_k",
    "pinball",
    "psi",
    "rmae",
    "rmse",
    "smape",
    "wasserstein",
]
