"""A response goes out only once its prediction's record is on disk, when the ledger's
durability is ``journal``: the plain ASGI middleware that awaits the journal's group commit.

``Gateway.record`` notes the writer's ticket in a context variable (the request's own task);
before the response's first message is sent, this middleware awaits that ticket. Requests that
record nothing, and a writer without a journal, pass straight through.

Example::

    app.add_middleware(DurableAnswers, gateway=gateway)
"""

from __future__ import annotations

import contextvars
from typing import Any

__all__: list[str] = []  # the gateway's own parts: create_app assembles them

_ticket: contextvars.ContextVar[int] = contextvars.ContextVar("helio_ledger_ticket", default=0)


def note_ticket(ticket: int) -> None:
    """Remember, for this request, that its response must wait for ``ticket``."""
    if ticket > _ticket.get():
        _ticket.set(ticket)


class DurableAnswers:
    """Holds each response until the records its request submitted are fsynced."""

    def __init__(self, app: Any, gateway: Any) -> None:
        self.app = app
        self.gateway = gateway

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.gateway.writer.durability != "journal":
            await self.app(scope, receive, send)
            return
        _ticket.set(0)

        async def send_when_durable(message: Any) -> None:
            if message["type"] == "http.response.start":
                ticket = _ticket.get()
                waiter = self.gateway.writer.durable(ticket) if ticket else None
                if waiter is not None:
                    await waiter
            await send(message)

        await self.app(scope, receive, send_when_durable)
