"""Metrics: pure functions shared by training, monitoring and reports.

Drift statistics (``ks_statistic``, ``psi``, ``wasserstein``, ``jensen_shannon``,
``chi2_categories``) and ranking metrics (``hit_rate_at_k``, ``ndcg_at_k``, ...).

>>> from heliograph.metrics import hit_rate_at_k
>>> hit_rate_at_k([[1, 2]], [{2}], k=2)
1.0
"""

from __future__ import annotations

from ._drift import *  # noqa: F403
from ._drift import __all__ as _drift_all
from ._ranking import *  # noqa: F403
from ._ranking import __all__ as _ranking_all

__all__ = sorted([*_drift_all, *_ranking_all])
