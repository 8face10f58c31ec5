"""Feature views: feature logic computed *as of* a moment, the same offline and online, how
fresh their inputs were at that moment, and the online store that keeps them ready to serve.

>>> from heliograph.features import FeatureView, compute_offline, freshness, point_in_time
>>> from heliograph.features import OnlineStore, OnlineView, materialize_view
"""

from __future__ import annotations

from ._asof import *  # noqa: F403
from ._asof import __all__ as _asof_all
from ._freshness import *  # noqa: F403
from ._freshness import __all__ as _freshness_all
from ._online_backends import *  # noqa: F403
from ._online_backends import __all__ as _online_backends_all
from ._online_materialize import *  # noqa: F403
from ._online_materialize import __all__ as _online_materialize_all
from ._online_store import *  # noqa: F403
from ._online_store import __all__ as _online_store_all
from ._online_view import *  # noqa: F403
from ._online_view import __all__ as _online_view_all

__all__ = sorted(
    [
        *_asof_all,
        *_freshness_all,
        *_online_backends_all,
        *_online_materialize_all,
        *_online_store_all,
        *_online_view_all,
    ]
)
