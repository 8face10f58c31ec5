"""Metrics: pure functions shared by training, monitoring and reports (drift statistics here).

>>> from heliograph.metrics import ks_statistic, psi
>>> ks_statistic(reference_prices, todays_prices)
"""

from __future__ import annotations

from ._drift import *  # noqa: F403
from ._drift import __all__ as _drift_all

__all__ = sorted(_drift_all)
