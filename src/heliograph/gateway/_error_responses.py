"""Errors as JSON with the request id: 422 naming every bad field, a service's refusal with
its status, what Starlette refuses before a route runs (404 listing the services, 405, a body
that cannot be parsed) naming its field and rule, and 500 (logged with its traceback) when a
model or service raises.

Example::

    add_error_responses(app, gateway)
"""

# No `from __future__ import annotations` here: Starlette reads the handlers' annotations.

from collections.abc import Mapping
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


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """``data`` as a JSON response."""
    return Response(dumps(data), status_code=status, media_type="application/json", headers=headers)


def _http_error(request: Request, exc: StarletteHTTPException, gateway: Any) -> dict[str, Any]:
    """What Starlette refused before any route ran (no route, a method the route does not
    take, a body that is not what its content type says), with the field and the rule."""
    if exc.status_code == 404:
        services = [f"/v1/services/{n}/predict" for n in gateway.services]
        return {
            "error": f"no route {request.url.path}",
            "field": "path",
            "rule": "a route of the gateway: see /openapi.json",
            "services": services,
        }
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        return {
            "error": f"{request.method} is not a method of {request.url.path}",
            "field": "method",
            "rule": f"one of: {allowed}" if allowed else "a method the route takes",
        }
    if exc.status_code == 400 and "pars" in str(exc.detail):  # FastAPI: "error parsing the body"
        kind = request.headers.get("content-type", "") or "none"
        return {
            "error": f"the body cannot be read as its content type says ({kind})",
            "field": "body",
            "rule": "a JSON object, sent as Content-Type: application/json",
        }
    return {"error": str(exc.detail), "field": "request", "rule": str(exc.detail)}


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
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        body = {**_http_error(request, exc, gateway), "request_id": request.state.request_id}
        return json_response(body, exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> Response:
        log.exception("request %s failed", request.state.request_id)
        body = {"error": f"the model or service failed: {type(exc).__name__}"}
        return json_response({**body, "request_id": request.state.request_id}, 500)
