"""Errors as JSON with the request id: 422 naming every bad field, a service's refusal with
its status, 404 listing the services, and 500 (logged with its traceback) when a model or
service raises.

Example::

    add_error_responses(app, gateway)
"""

# No `from __future__ import annotations` here: Starlette reads the handlers' annotations.

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from heliograph.core import get_logger
from heliograph.serving import ServiceError

from ._answer import dumps

__all__: list[str] = []  # the gateway's own parts: create_app assembles them

log = get_logger(__name__)


def json_response(data: Any, status: int = 200) -> Response:
    """``data`` as a JSON response."""
    return Response(dumps(data), status_code=status, media_type="application/json")


def add_error_responses(app: FastAPI, gateway: Any) -> None:
    """Install the gateway's error handlers on ``app``."""

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        details = [
            {"field": ".".join(str(p) for p in e["loc"]), "rule": e["msg"]} for e in exc.errors()
        ]
        body = {"error": "invalid request", "details": details}
        return json_response({**body, "request_id": request.state.request_id}, 422)

    @app.exception_handler(ServiceError)
    async def refused(request: Request, exc: ServiceError) -> Response:
        body = {"error": exc.headline, "field": exc.field, "rule": exc.rule}
        return json_response({**body, "request_id": request.state.request_id}, exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def not_found(request: Request, exc: StarletteHTTPException) -> Response:
        body: dict[str, Any] = {"error": exc.detail, "request_id": request.state.request_id}
        if exc.status_code == 404:
            body = {
                "error": f"no route {request.url.path}",
                "services": [f"/v1/services/{n}/predict" for n in gateway.services],
                "request_id": request.state.request_id,
            }
        return json_response(body, exc.status_code)

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> Response:
        log.exception("request %s failed", request.state.request_id)
        body = {"error": f"the model or service failed: {type(exc).__name__}"}
        return json_response({**body, "request_id": request.state.request_id}, 500)
