"""Services: domain endpoints declared in a few lines, answered by the gateway.

A service says what a request looks like, which registered model answers it, how to turn a
request into feature rows (through a feature view, as of the request's time) and how to turn
the model's output into a response. The gateway does the rest: validation (422 naming the
field), the champion's prediction, the challenger's shadow prediction off the hot path, the
ledger record, the ``X-Model-Version`` header.

Example::

    class PriceForecast(Service):
        name = "price-forecast"
        Request = PriceRequest            # pydantic models: the OpenAPI schema comes from them
        Response = PriceResponse
        def model_for(self, request): return f"energy-price-{request.market}"
        def models(self, context): return context.registry_models("energy-price-")
        def features(self, context, request): ...   # -> (feature rows, as_of)
        def respond(self, request, rows, outputs, model): ...  # -> Response
        def answer_key(self, context, request): ...  # optional: repeated answers from memory

What the base class gives every service (call it from ``features`` and ``answer_key``):
``as_of(context, request)`` is the request's moment (its ``as_of`` field, or now on the
project's clock), refused with a 422 when it is after now; ``vouch(context, freshness)``
refuses an answer the inputs cannot carry (a 422 for an ``as_of`` before any input was known,
a 503 saying what to run when the newest input is older than ``[gateway]
max_input_age_hours``) and returns the ``FreshnessReport`` a response carries as its last
field, ``freshness``; the default ``restamp`` moves a remembered answer's ``as_of`` and input
ages to the request's moment, and refuses it when its inputs have grown too old meanwhile.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

import pandas as pd
from pydantic import BaseModel, Field, TypeAdapter

from heliograph.core import Clock, HelioError, Project, as_utc
from heliograph.features import Freshness

__all__ = [
    "FreshnessReport",
    "InputAge",
    "Service",
    "ServiceContext",
    "ServiceError",
]

_MOMENT = TypeAdapter(datetime)  # serialises a datetime as a pydantic response does
_FRESHNESS = b',"freshness":'
_TOLERANCE_KEY = "[gateway] max_input_age_hours"


class ServiceError(HelioError):
    """A request a service cannot answer (unknown market, no model): a 4xx, never a 500."""

    def __init__(self, headline: str, *, status: int = 404, **kwargs: Any) -> None:
        super().__init__(headline, **kwargs)
        self.status = status


def _iso(moment: datetime) -> str:
    return _MOMENT.dump_python(moment, mode="json")


class InputAge(BaseModel):
    """One input of an answer's features: the newest of its rows known at ``as_of``."""

    dataset: str
    newest_available_at: datetime | None = Field(
        description="When the newest row known at as_of became known (null: none yet)."
    )
    age_hours: float | None = Field(description="Hours from newest_available_at to as_of.")


class FreshnessReport(BaseModel):
    """How old an answer's inputs were at its ``as_of``, and what its features lacked."""

    inputs: list[InputAge]
    max_age_hours: float | None = Field(
        description="The tolerance the answer was held to (null: none, answers are only flagged)."
    )
    missing_features: list[str] = Field(
        description="Features without a value for at least one answered row."
    )

    @classmethod
    def of(cls, state: Freshness, tolerance: timedelta | None) -> FreshnessReport:
        inputs = []
        for name in sorted(state.newest):
            age = state.age(name)
            inputs.append(
                InputAge(
                    dataset=name,
                    newest_available_at=state.newest[name],
                    age_hours=None if age is None else round(age.total_seconds() / 3600, 4),
                )
            )
        hours = None if tolerance is None else tolerance.total_seconds() / 3600
        return cls(inputs=inputs, max_age_hours=hours, missing_features=list(state.missing))

    def state(self, as_of: datetime) -> Freshness:
        """The report's inputs seen from ``as_of``."""
        newest = {i.dataset: i.newest_available_at for i in self.inputs}
        return Freshness(
            as_of=as_of,
            entity={},
            newest=newest,
            first=dict(newest),
            missing=tuple(self.missing_features),
        )


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

    #: What brings a service's inputs up to date, named when they are too old to answer.
    refresh: ClassVar[str] = "run `helio job run ingest` (or keep `helio up` running)"

    def as_of(self, context: ServiceContext, request: Any) -> datetime:
        """The moment ``request`` asks about: its ``as_of``, or now on the project's clock.

        An ``as_of`` after now is refused (422): nothing is known about the future yet.
        """
        given = getattr(request, "as_of", None)
        now = context.clock.now()
        if given is None:
            return now
        as_of = as_utc(given)
        if as_of > now:
            raise ServiceError(
                f"as_of {_iso(as_of)} is after now",
                status=422,
                field="as_of",
                rule=f"at or before now on the gateway's clock ({_iso(now)}); omit it for now",
            )
        return as_of

    @staticmethod
    def tolerance(context: ServiceContext) -> timedelta | None:
        """How old the newest input may be (``[gateway] max_input_age_hours``; 0: no limit)."""
        hours = context.project.settings.gateway.max_input_age_hours
        return timedelta(hours=hours) if hours else None

    def vouch(self, context: ServiceContext, state: Freshness) -> FreshnessReport:
        """``state``'s report for the response, if the inputs can carry an answer at all.

        Refused: an entity with no input at all (404, naming its field), an ``as_of`` before
        some input was first known (422), inputs older than the tolerance (503, saying what to
        run). Answers are refused whatever was asked before: this reads only ``state``.
        """
        if state.never and state.entity:
            (field, value), *_ = state.entity.items()
            raise ServiceError(
                f"no {', '.join(sorted(state.first))} for {field} {value} in the lake",
                status=404,
                field=field,
                rule=f"a {field} with data in the lake",
            )
        unknown = sorted(state.unknown)
        if unknown:
            since = state.known_from
            raise ServiceError(
                f"as_of {_iso(state.as_of)} is before the first {' and '.join(unknown)} "
                "became known",
                status=422,
                field="as_of",
                rule="at or after "
                + (_iso(since) if since else "the first input")
                + ", when every input of the features was known",
            )
        tolerance = self.tolerance(context)
        stale = sorted(state.stale(tolerance)) if tolerance is not None else []
        if stale and tolerance is not None:
            seen = ", ".join(
                f"the newest {name} became known at {_iso(newest)}"
                f" ({(state.as_of - newest).total_seconds() / 3600:.1f} h earlier)"
                for name in stale
                if (newest := state.newest[name]) is not None
            )
            raise ServiceError(
                f"the inputs are too old to answer as of {_iso(state.as_of)}: {seen}; "
                f"{self.refresh}, or ask as of a time with recent inputs",
                status=503,
                field="as_of",
                rule=f"every input at most {tolerance.total_seconds() / 3600:g} h old at as_of "
                f"({_TOLERANCE_KEY})",
            )
        return FreshnessReport.of(state, tolerance)

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

        A service whose :meth:`answer_key` leaves ``as_of`` out, because answers as of
        different moments differ only in the ``as_of`` they echo ("as of now" never repeats,
        its forecast often does), gets the answer with the request's ``as_of`` (the first
        ``"as_of"`` of the body, its top-level field) and, when the response ends with a
        ``freshness`` report, with the input ages seen from it, vouched for again: an answer
        whose inputs have grown too old is refused as a computed one would be. Returns the
        request's ``as_of``, which the ledger records. Runs on the event loop: no reads.
        """
        wanted = self.as_of(context, request)
        if wanted == as_of:
            return body, as_of
        old, new = (b'"as_of":' + _MOMENT.dump_json(t) for t in (as_of, wanted))
        body = body.replace(old, new, 1)
        cut = body.rfind(_FRESHNESS)
        if cut >= 0 and body.endswith(b"}"):
            report = FreshnessReport.model_validate_json(body[cut + len(_FRESHNESS) : -1])
            again = self.vouch(context, report.state(wanted))
            body = body[: cut + len(_FRESHNESS)] + again.model_dump_json().encode() + b"}"
        return body, wanted

    @abstractmethod
    def respond(
        self, request: Any, rows: pd.DataFrame, outputs: pd.DataFrame, version: str
    ) -> BaseModel:
        """The response for ``request`` from the model's ``outputs`` (one per feature row)."""
