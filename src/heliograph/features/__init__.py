"""Feature views: feature logic computed *as of* a moment, the same offline and online, and
how fresh their inputs were at that moment.

>>> from heliograph.features import FeatureView, compute_offline, freshness, point_in_time
"""

from __future__ import annotations

from ._asof import *  # noqa: F403
from ._asof import __all__ as _asof_all
from ._freshness import *  # noqa: F403
from ._freshness import __all__ as _freshness_all

__all__ = sorted([*_asof_all, *_freshness_all])
