"""The gateway: serves what the registry says, swaps versions with no downtime, records
every prediction. Loading, warming, smoke-testing and following versions are
:mod:`heliograph.serving`'s.

Example::

    from heliograph.gateway import create_app
    app = create_app(project, services)
"""

from __future__ import annotations

from ._app import *  # noqa: F403
from ._app import __all__ as _app_all
from ._gateway import *  # noqa: F403
from ._gateway import __all__ as _gateway_all
from ._metrics import *  # noqa: F403
from ._metrics import __all__ as _metrics_all
from ._service import *  # noqa: F403
from ._service import __all__ as _service_all

__all__ = sorted([*_app_all, *_gateway_all, *_metrics_all, *_service_all])
