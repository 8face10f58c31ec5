"""Serving, in process and without HTTP: load a registered version, warm it up, smoke-test it,
keep old versions for rollback, and follow the registry's aliases by polling and webhooks.

The gateway serves what this package holds; a batch ``predict`` job or a monitor uses it the
same way without a web server.

Example::

    from heliograph.serving import ModelStore, RegistryFollower
    store = ModelStore()
    RegistryFollower(project, store, ["energy-price-GB"]).sync()
    store.get("energy-price-GB", "champion").predict_cached(rows)
"""

from __future__ import annotations

from ._follower import *  # noqa: F403
from ._follower import __all__ as _follower_all
from ._loaded import *  # noqa: F403
from ._loaded import __all__ as _loaded_all
from ._loading import *  # noqa: F403
from ._loading import __all__ as _loading_all
from ._store import *  # noqa: F403
from ._store import __all__ as _store_all
from ._webhooks import *  # noqa: F403
from ._webhooks import __all__ as _webhooks_all

__all__ = sorted([*_follower_all, *_loaded_all, *_loading_all, *_store_all, *_webhooks_all])
