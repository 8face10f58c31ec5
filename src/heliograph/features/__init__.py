"""Feature views: feature logic computed *as of* a moment, the same offline and online.

>>> from heliograph.features import FeatureView, compute_offline, point_in_time
"""

from __future__ import annotations

from ._asof import *  # noqa: F403
from ._asof import __all__ as _asof_all

__all__ = sorted(_asof_all)
