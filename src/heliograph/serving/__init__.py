"""Serving, in process and without HTTP: load a registered version, warm it up, smoke-test it,
keep old versions for rollback, follow the registry's aliases by polling and webhooks, and
declare services (``Service``: a domain question answered by a model from features).

The gateway serves what this package holds; a batch ``predict`` job or a monitor uses it the
same way without a web server (``Service.answer``).

Example::

    from heliograph.serving import ModelStore, RegistryFollower
    store = ModelStore()
    RegistryFollower(project, store, ["energy-price-GB"]).sync()
    store.get("energy-price-GB", "champion").predict_cached(rows)
"""

from __future__ import annotations

from ._follower import ROLES, RegistryFollower
from ._footprint import FootprintError, serving_memory_mb
from ._loaded import LoadedModel
from ._loading import load_version
from ._service import (
    EARLIEST_AS_OF,
    FreshnessReport,
    InputAge,
    Service,
    ServiceAnswer,
    ServiceContext,
    ServiceError,
    ServiceFeatures,
)
from ._store import ModelStore
from ._webhooks import webhook_signed

__all__ = [
    "EARLIEST_AS_OF",
    "ROLES",
    "FootprintError",
    "FreshnessReport",
    "InputAge",
    "LoadedModel",
    "ModelStore",
    "RegistryFollower",
    "Service",
    "ServiceAnswer",
    "ServiceContext",
    "ServiceError",
    "ServiceFeatures",
    "load_version",
    "serving_memory_mb",
    "webhook_signed",
]
