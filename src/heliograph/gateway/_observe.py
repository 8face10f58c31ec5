"""Request ids, ``X-Request-ID`` and the request metrics, as a plain ASGI middleware.

Example::

    app.add_middleware(Observe, gateway=gateway)
"""

from __future__ import annotations

import time
import uuid
from typing import Any

__all__: list[str] = []  # the gateway's own parts: create_app assembles them


class Observe:
    """Gives each request an id (the caller's ``X-Request-ID``, or a new one), puts it on the
    response, and counts the request and its latency by route.

    (``@app.middleware("http")`` runs each request in an extra task with memory streams: about
    a fifth of a single-row request's cost.)
    """

    def __init__(self, app: Any, gateway: Any) -> None:
        self.app = app
        self.gateway = gateway

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = ""
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                request_id = value.decode("latin-1")
                break
        request_id = request_id or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500

        async def send_with_id(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", ()) if k != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            self.gateway.metrics.observe(path, status, time.perf_counter() - started)
