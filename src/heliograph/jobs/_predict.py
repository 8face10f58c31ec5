"""The ``predict`` job: each service's scheduled questions, champion and challenger, in the ledger.

Every 30 minutes each service of each app is asked its scheduled questions as of the run's
scheduled time (``Service.scheduled``), in process (no HTTP): the features once, then the
answer of the model's ``champion`` and of its ``challenger`` if it has one, each written to
the ledger with its role. A record's id is derived from (service, model, version, role,
scheduled time, question), and the ledger ignores an id it already holds, so a re-run of the
same interval adds nothing. A challenger does not answer a run caught up for a time before
the ``retrain`` that registered it: it was trained on what that question asks about, and
its shadow period would count time it did not exist. A question the service refuses (its
inputs too old, an unknown entity) is counted with its reason, not an error; no champion yet
is skipped.

Example::

    run_job(project, "predict").summary()
    # '6 predictions for 3 questions (champion and challenger)'
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from heliograph.core import Project, app_services, as_utc
from heliograph.ledger import JsonText, Ledger, PredictionRecord, PredictionWriter
from heliograph.registry import CHALLENGER, CHAMPION, Registry
from heliograph.serving import LoadedModel, Service, ServiceContext, ServiceError, load_version

from ._job import job

__all__ = ["PredictOutcome", "predict", "predict_services", "scheduled_record_id"]

_NAMESPACE = uuid.UUID("6f1c2f0e-6d1b-4f43-9a59-2b0c1f0c8a11")
_LOGGED_ROWS = 100  # inputs of up to this many rows are recorded, as the gateway does


def scheduled_record_id(
    service: str, model: str, version: str, role: str, scheduled_for: datetime, question: str
) -> str:
    """The ledger id of a scheduled prediction: the same for the same interval's answer."""
    key = f"{service}|{model}|{version}|{role}|{scheduled_for.isoformat()}|{question}"
    return uuid.uuid5(_NAMESPACE, key).hex


@dataclass
class PredictOutcome:
    """Predictions written, questions asked, and the questions refused with their reasons."""

    predictions: int = 0
    questions: int = 0
    refused: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the job's run."""
        text = f"{self.predictions} predictions for {self.questions} questions"
        return text + (f"; refused: {'; '.join(self.refused)}" if self.refused else "")


def _record(
    service: Service, model: LoadedModel, role: str, request: Any, context: ServiceContext,
    features: Any, now: datetime,
) -> PredictionRecord:  # fmt: skip
    began = time.perf_counter()
    answer = service.answer(context, request, model, features)
    latency = 1000 * (time.perf_counter() - began)
    first, last = answer.features.targets
    inputs = answer.inputs
    # As the gateway records them (a missing value as null, which every JSON reader, the
    # monitor's drift included, accepts; json.dumps would write a bare NaN).
    logged = (
        JsonText(inputs.to_json(orient="split", date_format="iso"))
        if len(inputs) <= _LOGGED_ROWS
        else None
    )
    question = request.model_dump_json()
    return PredictionRecord(
        service=service.name,
        model_name=model.name,
        model_version=model.version,
        role=role,
        request_id=f"scheduled-{now:%Y%m%dT%H%M%SZ}",
        inputs_hash="",
        outputs=answer.outputs.to_dict("list"),
        latency_ms=latency,
        inputs=logged,
        as_of=answer.features.as_of,
        target_start=None if first is None else first.to_pydatetime(),
        target_end=None if last is None else last.to_pydatetime(),
        record_id=scheduled_record_id(service.name, model.name, model.version, role, now, question),
        at=now,
    )


_LOADED: OrderedDict[tuple[str, str, str], LoadedModel] = OrderedDict()
_KEEP_LOADED = 16  # versions kept loaded between runs (a champion and a challenger per model)


def _loaded(project: Project, registry: Registry, name: str, version: str) -> LoadedModel:
    """Version ``version`` of ``name``, loaded once per process: a registered version is
    immutable, and loading it from MLflow costs about a second, every 30 minutes."""
    key = (project.tracking_uri, name, version)
    if key in _LOADED:
        _LOADED.move_to_end(key)
        return _LOADED[key]
    model = _LOADED[key] = load_version(registry, name, version)
    while len(_LOADED) > _KEEP_LOADED:
        _LOADED.popitem(last=False)
    return model


def _retrained_for(ledger: Ledger) -> dict[tuple[str, str], datetime]:
    """The scheduled time of the retrain that registered each (model, version)."""
    found: dict[tuple[str, str], datetime] = {}
    for event in ledger.events(kind="retrained", limit=500):
        when = event.details.get("scheduled_for")
        for name, version in (event.details.get("versions") or {}).items():
            if when:
                found.setdefault((name, str(version)), as_utc(datetime.fromisoformat(when)))
    return found


def predict_services(project: Project, services: Sequence[Service]) -> PredictOutcome:
    """Ask each service's scheduled questions as of the clock's now (see the module)."""
    now = project.clock().now()
    context = ServiceContext.open(project)
    registry = Registry(project)
    known = set(registry.models())
    born = _retrained_for(Ledger(project.ledger_url))
    outcome = PredictOutcome()
    with PredictionWriter(project.ledger_url, project.state_dir / "spool") as writer:
        for service in services:
            for request in service.scheduled(context, now):
                name = service.model_for(request)
                roles = registry.aliases(name) if name in known else {}
                if CHAMPION not in roles:
                    outcome.refused.append(f"{service.name}: {name} has no champion yet")
                    continue
                outcome.questions += 1
                try:
                    features = service.features(context, request)
                except ServiceError as exc:
                    outcome.refused.append(f"{service.name}: {exc.headline}")
                    continue
                for role in (CHAMPION, CHALLENGER):
                    version = roles.get(role)
                    if version is None:
                        continue
                    if role == CHALLENGER and born.get((name, version), now) > now:
                        continue  # a run caught up for a time before the retrain that made it
                    model = _loaded(project, registry, name, version)
                    writer.submit(_record(service, model, role, request, context, features, now))
                    outcome.predictions += 1
    return outcome


@job(
    "predict",
    "each service's scheduled questions, champion and challenger, into the ledger",
    schedule="*/30 * * * *",
    catch_up="6h",  # the questions of the last hours, as they would have been answered then
    retries=2,
    after=("ingest", "materialize", "promote"),
)
def predict(project: Project) -> PredictOutcome:
    """Ask every app's services their scheduled questions (see the module)."""
    return predict_services(project, app_services())
