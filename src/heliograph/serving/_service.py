"""Services: domain endpoints declared in a few lines, answered in process or over HTTP.

A service states its domain and nothing else: its request and response schemas, the online
feature view it reads, which registered model answers a request, which entity and how far
ahead a request asks about, how the model's outputs become a response, and the questions it
is asked on a schedule. What is generic is the platform's: the request's moment
(:meth:`Service.as_of`), features as of that moment from the online store, or from the lake
when the store cannot vouch for them (the response says which, ``source``), refusing what
the inputs cannot carry (:meth:`Service.vouch`), and the answer itself
(:meth:`Service.answer`: features, the model, the response). The gateway hosts a service
(validation, remembering answers, concurrency, the shadow, the ledger); the batch ``predict``
job calls :meth:`Service.answer` in process, with no HTTP.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal

import pandas as pd
from pydantic import BaseModel, Field, TypeAdapter

from heliograph.core import Clock, HelioError, Project, as_utc
from heliograph.features import InputFreshness, OnlineStore, OnlineView, column_names

from ._loaded import LoadedModel

__all__ = [
    "EARLIEST_AS_OF",
    "FreshnessReport",
    "InputAge",
    "Service",
    "ServiceAnswer",
    "ServiceContext",
    "ServiceError",
    "ServiceFeatures",
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


EARLIEST_AS_OF = datetime(1900, 1, 1, tzinfo=UTC)
"""The earliest ``as_of`` a service answers about (:meth:`Service.as_of`)."""


def _refused(headline: str, now: datetime) -> ServiceError:
    """A request's ``as_of`` that no answer can be given for (422, with the rule)."""
    rule = f"from {_iso(EARLIEST_AS_OF)} to now on the gateway's clock ({_iso(now)})"
    rule += "; omit it for now"
    return ServiceError(headline, status=422, field="as_of", rule=rule)


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
    def of(cls, state: InputFreshness, tolerance: timedelta | None) -> FreshnessReport:
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

    def state(self, as_of: datetime) -> InputFreshness:
        """The report's inputs seen from ``as_of``."""
        newest = {i.dataset: i.newest_available_at for i in self.inputs}
        return InputFreshness(
            as_of=as_of,
            entity={},
            newest=newest,
            first=dict(newest),
            missing=tuple(self.missing_features),
        )


@dataclass
class ServiceContext:
    """What a service may use: the project, its clock, the online store, and the registry's
    model names (``registry_models(prefix)``, kept fresh by the host)."""

    project: Project
    clock: Clock
    store: OnlineStore
    registry_models: Callable[[str], list[str]]

    @classmethod
    def open(cls, project: Project) -> ServiceContext:
        """A context of one's own (the batch ``predict`` job, a notebook): the project's
        online store and registry, read when asked."""
        from heliograph.registry import Registry

        registry = Registry(project)
        return cls(
            project=project,
            clock=project.clock(),
            store=OnlineStore.open(project),
            registry_models=lambda prefix: [m for m in registry.models() if m.startswith(prefix)],
        )


@dataclass(frozen=True)
class ServiceFeatures:
    """A request's feature rows as of ``as_of``, vouched for, and where they came from.

    ``source``: ``online`` (the store's materialised state) or ``lake`` (computed from the
    lake, with the ``reason`` the store could not vouch); ``state``: what the rows were
    computed from (the store's state, ``None`` from the lake): equal states and equal targets
    give equal rows, the key under which a host may remember an answer; ``freshness``: the
    report the response carries.
    """

    rows: pd.DataFrame
    as_of: datetime
    freshness: FreshnessReport | None = None
    source: Literal["online", "lake"] = "lake"
    reason: str = ""
    state: tuple[Any, ...] | None = None

    @property
    def targets(self) -> tuple[Any, Any]:
        """The first and last target time of the rows (``None``: no ``timestamp`` column)."""
        if "timestamp" not in self.rows or self.rows.empty:
            return None, None
        stamps = self.rows["timestamp"]
        return stamps.iloc[0], stamps.iloc[-1]


@dataclass(frozen=True)
class ServiceAnswer:
    """A service's answer from one model version: the response and what it was made of."""

    response: BaseModel
    features: ServiceFeatures
    inputs: pd.DataFrame
    outputs: pd.DataFrame
    version: str


class Service(ABC):
    """A domain endpoint (``POST /v1/services/<name>/predict`` in the gateway), declared by
    its domain alone. A complete service, the energy app's price forecast in short::

        class PriceRequest(BaseModel):
            market: str = Field(pattern=r"^[A-Z][A-Z0-9]{1,7}$")
            as_of: datetime | None = None           # omitted: now, on the project's clock
            horizon_hours: int = Field(default=24, ge=1, le=48)

        class PricePoint(BaseModel):
            timestamp: datetime
            p50: float

        class PriceResponse(BaseModel):
            market: str
            as_of: datetime
            version: str
            source: str                              # "online" or "lake"
            forecasts: list[PricePoint]
            freshness: FreshnessReport               # last: restamped in place

        class PriceForecast(Service):
            name = "price-forecast"
            Request, Response = PriceRequest, PriceResponse
            online = ONLINE_PRICE_FEATURES           # an OnlineView: the feature view served

            def models(self, context):               # the registered models to follow
                return context.registry_models("energy-price-")

            def model_for(self, request):            # the one that answers this request
                return f"energy-price-{request.market}"

            def entity(self, request):               # the online view's entity
                return request.market

            def horizon(self, request):              # targets in (as_of, as_of + horizon]
                return timedelta(hours=request.horizon_hours)

            def respond(self, request, features, outputs, version):
                points = [
                    PricePoint(timestamp=t, p50=p)
                    for t, p in zip(features.rows["timestamp"], outputs["p50"], strict=True)
                ]
                return PriceResponse(
                    market=request.market, as_of=features.as_of, version=version,
                    source=features.source, forecasts=points, freshness=features.freshness,
                )

            def scheduled(self, context, now):       # what the predict job asks
                return [PriceRequest(market=m, as_of=now) for m in ("GB", "DE")]

        context = ServiceContext.open(project)
        answer = PriceForecast().answer(context, PriceRequest(market="GB"), model)
        answer.response.forecasts[0].p50, answer.features.source

    The base class supplies the rest. :meth:`features` reads the rows for the request's
    entity and targets as of :meth:`as_of` from the online store (``source="online"``), or
    computes the same rows from the lake when the store cannot vouch for them (before its
    retention, new partitions not yet materialised, a failed materialisation:
    ``source="lake"`` and a ``reason``), and :meth:`vouch` refuses what the inputs cannot
    carry: an entity with no data (404), an ``as_of`` after now or before any input (422),
    inputs older than ``[gateway] max_input_age_hours`` (503, saying what to run).
    :meth:`answer` is features, the model, :meth:`respond`. A response may depend on
    ``as_of`` only through its top-level ``as_of`` field and a last field ``freshness``:
    the gateway then remembers one answer per (model version, feature state, targets,
    request without ``as_of``) and :meth:`restamp` gives it the moment of each request.

    A service whose features do not come from an online view overrides :meth:`features`.
    """

    name: ClassVar[str]
    Request: ClassVar[type[BaseModel]]
    Response: ClassVar[type[BaseModel]]
    description: ClassVar[str] = ""
    #: The feature view the service reads from the online store (``None``: it overrides
    #: :meth:`features`).
    online: ClassVar[OnlineView | None] = None
    #: How often the batch ``predict`` job asks :meth:`scheduled`'s questions.
    every: ClassVar[timedelta] = timedelta(minutes=30)
    #: The longest the service may record no prediction before the monitor raises a health
    #: alert (``None``: ``[monitoring] service_silence_minutes``): a service whose scheduled
    #: question comes once a day says so, or it "stops answering" every day.
    max_silence: ClassVar[timedelta | None] = None
    #: What brings a service's inputs up to date, named when they are too old to answer.
    refresh: ClassVar[str] = "run `helio job run ingest` (or keep `helio up` running)"

    @abstractmethod
    def models(self, context: ServiceContext) -> list[str]:
        """The registered models this service may use (the host follows all of them)."""

    @abstractmethod
    def model_for(self, request: Any) -> str:
        """The registered model that answers ``request``."""

    def entity(self, request: Any) -> Any:
        """The value of the online view's entity column that ``request`` asks about."""
        raise NotImplementedError(f"{type(self).__name__} declares online but no entity")

    def horizon(self, request: Any) -> timedelta:
        """How far after ``as_of`` the targets of ``request`` reach."""
        raise NotImplementedError(f"{type(self).__name__} declares online but no horizon")

    @abstractmethod
    def respond(
        self, request: Any, features: ServiceFeatures, outputs: pd.DataFrame, version: str
    ) -> BaseModel:
        """The response for ``request`` from the model's ``outputs`` (one per feature row)."""

    def scheduled(self, context: ServiceContext, now: datetime) -> Sequence[BaseModel]:
        """The requests the batch ``predict`` job asks every :attr:`every`, as of ``now``
        (none by default)."""
        return []

    # -- what is generic -------------------------------------------------------------------
    def as_of(self, context: ServiceContext, request: Any) -> datetime:
        """The moment ``request`` asks about: its ``as_of``, or now on the project's clock.

        An ``as_of`` after now is refused (422): nothing is known about the future yet; so is
        one before :data:`EARLIEST_AS_OF` (422), which no input can precede and whose time
        arithmetic (a lookback, nanosecond timestamps from 1677) would overflow. Every use of
        a request's moment (the store, the gateway's memory, the lake) goes through here.
        """
        given = getattr(request, "as_of", None)
        now = context.clock.now()
        if given is None:
            return now
        try:
            as_of = as_utc(given)
        except ValueError as exc:  # 0001-01-01T00:00+05:00: no UTC datetime holds it
            raise _refused(f"as_of {given.isoformat()} cannot be read: {exc}", now) from None
        if as_of < EARLIEST_AS_OF:
            raise _refused(f"as_of {_iso(as_of)} is before {_iso(EARLIEST_AS_OF)}", now)
        if as_of > now:
            raise _refused(f"as_of {_iso(as_of)} is after now", now)
        return as_of

    def features(self, context: ServiceContext, request: Any) -> ServiceFeatures:
        """``request``'s feature rows as of its moment, vouched for (see the class)."""
        online = self.online
        if online is None:
            raise NotImplementedError(f"{type(self).__name__} declares no online view")
        as_of, entity = self.as_of(context, request), self.entity(request)
        self.check(context, request, as_of)
        got = context.store.features(online, entity, as_of, horizon=self.horizon(request))
        columns = _feature_columns(online, column_names(got.rows.columns))
        report = self.vouch(context, got.freshness.with_missing(got.rows, columns))
        return ServiceFeatures(got.rows, as_of, report, got.source, got.reason, got.state)

    def check(self, context: ServiceContext, request: Any, as_of: datetime | None = None) -> None:
        """Refuse at once, from what the online store knows without computing anything, an
        entity with no data (404) or an ``as_of`` before its inputs were known (422)."""
        online = self.online
        if online is None:
            return
        as_of = as_of or self.as_of(context, request)
        entity = self.entity(request)
        first = context.store.first_known(online, entity)
        if first is not None:
            known = {n: f if f is not None and f <= as_of else None for n, f in first.items()}
            early = InputFreshness(as_of, {online.entity: entity}, known, first)
            if early.never or early.unknown:
                self.vouch(context, early)

    def answer(
        self,
        context: ServiceContext,
        request: Any,
        model: LoadedModel,
        features: ServiceFeatures | None = None,
    ) -> ServiceAnswer:
        """``model``'s answer to ``request``: features (unless given), prediction, response,
        in process."""
        features = features or self.features(context, request)
        inputs = model.inputs(features.rows)
        outputs = model.predict_cached(inputs)
        response = self.respond(request, features, outputs, model.version)
        return ServiceAnswer(response, features, inputs, outputs, model.version)

    @staticmethod
    def tolerance(context: ServiceContext) -> timedelta | None:
        """How old the newest input may be (``[gateway] max_input_age_hours``; 0: no limit)."""
        hours = context.project.settings.gateway.max_input_age_hours
        return timedelta(hours=hours) if hours else None

    def vouch(self, context: ServiceContext, state: InputFreshness) -> FreshnessReport:
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

    def restamp(
        self, context: ServiceContext, request: Any, body: bytes, as_of: datetime
    ) -> tuple[bytes, datetime]:
        """A remembered answer (its response ``body``, computed ``as_of``) made ``request``'s.

        Answers as of different moments with the same features differ only in the ``as_of``
        they echo (the first ``"as_of"`` of the body, its top-level field) and, when the
        response ends with a ``freshness`` report, in the input ages seen from it: both are
        moved to the request's moment, and the ages vouched for again (an answer whose inputs
        have grown too old is refused as a computed one would be). Returns the request's
        ``as_of``, which the ledger records.
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


_IDENTIFIERS = ("timestamp", "as_of")


@functools.lru_cache(maxsize=64)
def _feature_columns(online: OnlineView, columns: tuple[str, ...]) -> list[str]:
    """The columns of a view's rows that are features: not the entity, the target time,
    ``as_of`` or a label (one list per schema)."""
    other = {online.entity, *_IDENTIFIERS, *(c for pair in online.view.labels for c in pair)}
    return [c for c in columns if c not in other]
