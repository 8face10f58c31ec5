"""Services: domain endpoints declared in a few lines, answered by the gateway.

A service says what a request looks like, which registered model answers it, how to turn a
request into feature rows (through a feature view, as of the request's time) and how to turn
the model's output into a response. The gateway does the rest: validation (422 naming the
field), the champion's prediction, the challenger's shadow prediction off the hot path, the
ledger record, the ``X-Model-Version`` header.

>>> class PriceForecast(Service):
...     name = "price-forecast"
...     Request = PriceRequest            # pydantic models: the OpenAPI schema comes from them
...     Response = PriceResponse
...     def model_for(self, request): return f"energy-price-{request.market}"
...     def models(self, context): return context.registry_models("energy-price-")
...     def features(self, context, request): ...   # -> (feature rows, as_of)
...     def respond(self, request, rows, outputs, model): ...  # -> Response
...     def answer_key(self, context, request): ...  # optional: repeated answers from memory
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import pandas as pd
from pydantic import BaseModel

from heliograph.core import Clock, HelioError, Project

__all__ = ["Service", "ServiceContext", "ServiceError"]


class ServiceError(HelioError):
    """A request a service cannot answer (unknown market, no model): a 4xx, never a 500."""

    def __init__(self, headline: str, *, status: int = 404, **kwargs: Any) -> None:
        super().__init__(headline, **kwargs)
        self.status = status


@dataclass
class ServiceContext:
    """What a service may use: the project, its clock, and the gateway's registry view."""

    project: Project
    clock: Clock
    registry_models: Callable[[str], list[str]]
    cache: dict[str, Any]


class Service(ABC):
    """A domain endpoint: ``POST /v1/services/<name>/predict``."""

    name: ClassVar[str]
    Request: ClassVar[type[BaseModel]]
    Response: ClassVar[type[BaseModel]]
    description: ClassVar[str] = ""

    @abstractmethod
    def models(self, context: ServiceContext) -> list[str]:
        """The registered models this service may use (the gateway follows all of them)."""

    @abstractmethod
    def model_for(self, request: Any) -> str:
        """The registered model that answers ``request``."""

    @abstractmethod
    def features(self, context: ServiceContext, request: Any) -> tuple[pd.DataFrame, datetime]:
        """Feature rows for ``request`` and the ``as_of`` they were computed for."""

    def answer_key(self, context: ServiceContext, request: Any) -> Any:
        """A hashable key such that two requests with equal keys get the same feature rows,
        the same ``as_of`` and the same response from one model version; ``None`` (the default)
        when there is none. It must be cheap (no reads): it is computed on the event loop.

        With a key, the gateway remembers each model version's last answers (the response
        bytes and the ledger record's inputs and outputs), so a repeated question costs a
        lookup, and is still recorded in the ledger with its own request id. The key must
        change whenever the answer could: new data the features would see, a different
        ``as_of`` (the model version is the gateway's part of the key), unless the service
        rewrites the ``as_of`` of a remembered answer in :meth:`restamp`.
        """
        return None

    def restamp(
        self, context: ServiceContext, request: Any, body: bytes, as_of: datetime
    ) -> tuple[bytes, datetime]:
        """A remembered answer (its response ``body``, computed ``as_of``) made ``request``'s.

        The default returns it unchanged. A service whose :meth:`answer_key` leaves ``as_of``
        out, because answers as of different moments differ only in the ``as_of`` they echo
        ("as of now" never repeats, its forecast often does), rewrites it here and returns
        the request's ``as_of``, which the ledger records. Runs on the event loop: no reads.
        """
        return body, as_of

    @abstractmethod
    def respond(
        self, request: Any, rows: pd.DataFrame, outputs: pd.DataFrame, version: str
    ) -> BaseModel:
        """The response for ``request`` from the model's ``outputs`` (one per feature row)."""
