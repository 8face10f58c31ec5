"""Feature views: feature logic computed *as of* a moment, the same offline and online, how
fresh their inputs were at that moment, and the online store that keeps them ready to serve.

>>> from heliograph.features import FeatureView, compute_offline, freshness, point_in_time
>>> from heliograph.features import OnlineStore, OnlineView, materialize_view
"""

from __future__ import annotations

from ._asof import (
    FeatureView,
    compute_offline,
    compute_online,
    known_at,
    labels_as_of,
    point_in_time,
)
from ._columns import column_names, column_positions
from ._freshness import InputFreshness, InputTimes, freshness, input_times
from ._online_backends import OnlineBackend, RedisBackend, SQLiteBackend, open_backend
from ._online_materialize import MaterializeOutcome, materialize_view
from ._online_store import OnlineFeatures, OnlineStatus, OnlineStore, online_requests
from ._online_view import OnlineView

__all__ = [
    "FeatureView",
    "InputFreshness",
    "InputTimes",
    "MaterializeOutcome",
    "OnlineBackend",
    "OnlineFeatures",
    "OnlineStatus",
    "OnlineStore",
    "OnlineView",
    "RedisBackend",
    "SQLiteBackend",
    "column_names",
    "column_positions",
    "compute_offline",
    "compute_online",
    "freshness",
    "input_times",
    "known_at",
    "labels_as_of",
    "materialize_view",
    "online_requests",
    "open_backend",
    "point_in_time",
]
