"""The gateway: serves what the registry says, swaps versions with no downtime, records
every prediction. Loading, warming, smoke-testing and following versions are
:mod:`heliograph.serving`'s.

Example::

    from heliograph.gateway import create_app
    app = create_app(project, services)
"""

from __future__ import annotations

from ._app import create_app
from ._gateway import Gateway
from ._metrics import GatewayMetrics
from ._service import FreshnessReport, InputAge, Service, ServiceContext, ServiceError

__all__ = [
    "FreshnessReport",
    "Gateway",
    "GatewayMetrics",
    "InputAge",
    "Service",
    "ServiceContext",
    "ServiceError",
    "create_app",
]
