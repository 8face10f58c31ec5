"""The gateway: serves what the registry says, swaps versions with no downtime, records
every prediction, remembers answers. Loading, warming, smoke-testing and following versions,
and the declaration of services (``Service``), are :mod:`heliograph.serving`'s.

Example::

    from heliograph.gateway import create_app
    app = create_app(project, services)
"""

from __future__ import annotations

from ._app import create_app
from ._gateway import Gateway
from ._metrics import GatewayMetrics

__all__ = ["Gateway", "GatewayMetrics", "create_app"]
