"""Feature views: feature logic computed *as of* a moment, the same offline and online, and
how fresh their inputs were at that moment.

>>> from heliograph.features import FeatureView, compute_offline, freshness, point_in_time
"""

from __future__ import annotations

from ._asof import FeatureView, compute_offline, compute_online, known_at, point_in_time
from ._freshness import Freshness, InputTimes, freshness, input_times

__all__ = [
    "FeatureView",
    "Freshness",
    "InputTimes",
    "compute_offline",
    "compute_online",
    "freshness",
    "input_times",
    "known_at",
    "point_in_time",
]
