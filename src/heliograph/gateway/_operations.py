"""The operations routes: ``/healthz``, ``/readyz``, ``/metrics``, ``/v1/services`` and the
registry webhook ``/v1/registry/webhook``.

Example::

    add_operation_routes(app, gateway)
"""

# No `from __future__ import annotations` here: FastAPI reads the endpoint annotations.

from fastapi import FastAPI, Request
from fastapi.responses import Response

from heliograph import __version__
from heliograph.registry import CHAMPION
from heliograph.serving import ServiceError, webhook_signed

from ._error_responses import json_response
from ._gateway import Gateway

__all__: list[str] = []  # the gateway's own parts: create_app assembles them


def add_operation_routes(app: FastAPI, gateway: Gateway) -> None:
    """Add the operations routes to ``app``."""
    project = gateway.project

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> Response:
        return json_response({"status": "ok", "version": __version__})

    @app.get("/readyz", tags=["operations"])
    async def readyz() -> Response:
        missing = [
            name for name in gateway.followed_models() if gateway.store.get(name, CHAMPION) is None
        ]
        empty = [s.name for s in gateway.services.values() if not s.models(gateway.context)]
        ready = not missing and not empty
        # The online store: a failed or pending materialisation does not make the gateway
        # un-ready (answers then come from the lake, and say so), but it is shown here.
        online = [
            {
                "view": s.view,
                "state": s.state,
                "behind": s.behind,
                "materialized_at": s.materialized_at.isoformat() if s.materialized_at else None,
                "error": s.error,
            }
            for s in gateway.online_status()
        ]
        return json_response(
            {
                "ready": ready,
                "missing_champion": missing,
                "services_without_models": empty,
                "online_store": online,
            },
            200 if ready else 503,
        )

    @app.get("/metrics", tags=["operations"])
    async def metrics() -> Response:
        body, content_type = gateway.metrics.render()
        headers = {"X-Helio-Worker": gateway.metrics.worker}
        return Response(body, media_type=content_type, headers=headers)

    @app.post("/v1/registry/webhook", tags=["operations"])
    async def registry_webhook(request: Request) -> Response:
        """An MLflow registry webhook (model_version_alias.*): look at the registry now."""
        secret = project.settings.gateway.webhook_secret
        if not secret:
            raise ServiceError(
                "webhooks are off: set [gateway] webhook_secret",
                status=404,
                field="gateway.webhook_secret",
                rule="a shared secret",
            )
        body = (await request.body()).decode("utf-8", errors="replace")
        if not webhook_signed(secret, request.headers, body):
            raise ServiceError(
                "bad or missing webhook signature",
                status=401,
                field="X-MLflow-Signature",
                rule="HMAC-SHA256 of the secret, at most 5 minutes old",
            )
        gateway.follower.poke()
        return json_response({"accepted": True})

    @app.get("/v1/services", tags=["services"])
    async def list_services() -> Response:
        loaded = gateway.store.snapshot()
        models = [
            {
                "model": name,
                "role": role,
                "version": m.version,
                "run_id": m.run_id,
                "loaded_at": m.loaded_at.isoformat(),
                "fast_path": m.native is not None,
            }
            for (name, role), m in sorted(loaded.items())
        ]
        last_poll = gateway.follower.last_poll
        return json_response(
            {
                "services": [
                    {
                        "name": s.name,
                        "description": s.description,
                        "path": f"/v1/services/{s.name}/predict",
                        "models": s.models(gateway.context),
                    }
                    for s in gateway.services.values()
                ],
                "loaded": models,
                "last_registry_poll": last_poll.isoformat() if last_poll else None,
            }
        )
