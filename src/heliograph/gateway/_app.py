"""The gateway: FastAPI app hosting the project's services, following the registry.

Routes: ``POST /v1/services/<name>/predict`` (one per service, typed, so bad input is a 422
naming the field), ``POST /invocations`` and ``POST /v1/models/<name>/invocations``
(MLflow-compatible), ``GET /v1/services``, ``GET /healthz``, ``GET /readyz``, ``GET /metrics``
(Prometheus), and the OpenAPI docs at ``/docs``. Every prediction response carries
``X-Model-Version`` and ``X-Request-ID``; every prediction is written to the ledger
asynchronously (spooled to disk if the database is down).

Example::

    app = create_app(project, services=[PriceForecast()])
    uvicorn.run(app)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI

from heliograph import __version__
from heliograph.core import Project
from heliograph.serving import Service

from ._docs import add_docs
from ._durable import DurableAnswers
from ._error_responses import add_error_responses
from ._gateway import Gateway
from ._invocations import add_invocation_routes
from ._observe import Observe
from ._operations import add_operation_routes
from ._service_routes import add_service_route

__all__ = ["create_app"]


def create_app(
    project: Project,
    services: Sequence[Service] = (),
    *,
    poll_interval: float | None = None,
    follow: bool = True,
    shadow: bool | None = None,
    freeze_gc: bool = False,
) -> FastAPI:
    """The gateway app for ``project`` hosting ``services``.

    ``freeze_gc``: keep what is loaded at start (and each new version) out of Python's
    garbage collections, for a process that serves and does nothing else (``helio serve``).
    """
    gateway = Gateway(
        project,
        services,
        poll_interval=poll_interval,
        follow=follow,
        shadow=shadow,
        freeze_gc=freeze_gc,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        gateway.start()
        try:
            yield
        finally:
            gateway.stop()  # after uvicorn drained in-flight requests: flush the ledger

    app = FastAPI(
        title=f"heliograph gateway: {project.settings.project.name}",
        version=__version__,
        lifespan=lifespan,
        description="Domain services and MLflow-compatible scoring, following the model registry.",
        docs_url=None,  # served by add_docs, with local assets
        redoc_url=None,
    )
    app.state.gateway = gateway
    app.add_middleware(DurableAnswers, gateway=gateway)  # inside Observe: latency includes it
    app.add_middleware(Observe, gateway=gateway)
    add_error_responses(app, gateway)
    add_docs(app)
    add_operation_routes(app, gateway)
    add_invocation_routes(app, gateway)
    for service in services:
        add_service_route(app, gateway, service)
    return app
