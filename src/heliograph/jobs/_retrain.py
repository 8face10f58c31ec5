"""The ``retrain`` job: train on the newest snapshots, weekly or when monitoring alerted.

The job looks every hour and trains when one of these holds: no retrain has been recorded
yet; the last was a week (``RETRAIN_EVERY``) or more before the run's scheduled time; or the
``monitor`` job raised a drift or metric alert about a *champion* since the last retrain,
one that is still its model's champion (not an interval coverage alert: a calibration for a
person to look at, noisy on a day of judged questions, and no sign that the market moved; not
an alert about a champion replaced since, which the version now serving need not answer),
and no challenger is shadowing (a challenger is the answer to the alerts in progress: a
retrain would replace it and restart its shadow period, so that none would ever be
promoted). Alerts about a challenger do not trigger (it is not serving). Training goes through
each app's declared entry point (``App.retrain``), which registers each model's best as the
``challenger``; the retrain is then an event ``retrained`` (its trigger and the versions). A
run for a scheduled time that already retrained does nothing. Data too short to train on is
a ``CannotRun``: the next interval tries again.

Example::

    run_job(project, "retrain").summary()
    # 'retrained (first training): meter-load v1'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from heliograph.core import App, DataError, Project, as_utc, load_apps
from heliograph.ledger import Event, Ledger
from heliograph.registry import CHALLENGER, CHAMPION, Registry

from ._job import CannotRun, job

__all__ = [
    "RETRAIN_EVERY",
    "RETRAIN_TRIGGERS",
    "RetrainOutcome",
    "retrain",
    "retrain_apps",
    "triggers_retrain",
]

RETRAIN_EVERY = timedelta(days=7)
"""The longest a model goes without retraining."""
RETRAIN_TRIGGERS = ("drift", "metric")
"""The kinds of alert (``alert_raised`` events) that trigger a retrain."""
_EVENT = "retrained"
_NOT_TRIGGERS = ("coverage_gap",)  # the intervals' calibration: for a person, not a retrain


@dataclass
class RetrainOutcome:
    """Whether the run trained, why (or why not), and the versions it registered by model."""

    trained: bool
    why: str
    versions: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for the job's run."""
        if not self.trained:
            return self.why
        done = ", ".join(f"{m} v{v}" for m, v in self.versions.items()) or "no model"
        return f"retrained ({self.why}): {done}"


def _scheduled(event: Event) -> datetime | None:
    value = event.details.get("scheduled_for")
    return as_utc(datetime.fromisoformat(value)) if value else None


def _about_a_champion(event: Event) -> bool:
    """An alert's subject is ``service/model/vVERSION/role``."""
    parts = event.subject.split("/")
    return len(parts) >= 4 and parts[3] == CHAMPION


def _still_serving(project: Project, alerts: Sequence[Event]) -> list[Event]:
    """The ``alerts`` about a version that is its model's champion now: an alert about a
    champion since replaced (a monitor pass that judged the old one while its successor
    shadowed) asks nothing of the version now serving."""
    registry = Registry(project)
    champions: dict[str, str | None] = {}
    kept = []
    for event in alerts:
        _, model, version = event.subject.split("/")[:3]
        if model not in champions:
            champions[model] = registry.aliases(model).get(CHAMPION)
        if champions[model] == version.removeprefix("v"):
            kept.append(event)
    return kept


def _shadowing(project: Project) -> list[str]:
    """The models with a challenger (``model vN``)."""
    registry = Registry(project)
    found = []
    for name in registry.models():
        version = registry.aliases(name).get(CHALLENGER)
        if version is not None:
            found.append(f"{name} v{version}")
    return found


def triggers_retrain(event: Event, kinds: Sequence[str] = RETRAIN_TRIGGERS) -> bool:
    """Whether the ``alert_raised`` ``event`` calls for a retrain: an alert of one of
    ``kinds`` about a champion, not about the intervals' calibration (``coverage_gap``: for
    a person to look at, not a retrain). ``helio simulate``'s drift policy asks the same."""
    return (
        event.details.get("alert") in kinds
        and event.details.get("name") not in _NOT_TRIGGERS
        and _about_a_champion(event)
    )


_NOT_DUE = "not due: retrained within the week, no alert about a champion since"


def _why(project: Project, ledger: Ledger, last: Event | None, now: datetime) -> tuple[bool, str]:
    """Whether a retrain is due at ``now``, and why (or why not)."""
    if last is None:
        return True, "first training"
    when = _scheduled(last)
    if when is not None and now - when >= RETRAIN_EVERY:
        return True, f"weekly: the last retrain was for {when:%Y-%m-%d %H:%M} UTC"
    alerts = [
        e
        for e in ledger.events(kind="alert_raised", limit=500)
        if e.id > last.id and triggers_retrain(e)
    ]
    alerts = _still_serving(project, alerts)
    if not alerts:
        return False, _NOT_DUE
    count = f"{len(alerts)} alert{'s' if len(alerts) > 1 else ''}"
    if shadowing := _shadowing(project):
        return False, f"{count} since the last retrain; waiting: {', '.join(shadowing)} shadows"
    return True, f"{count} since the last retrain, the first: {alerts[-1].reason}"


def retrain_apps(project: Project, apps: Sequence[App]) -> RetrainOutcome:
    """Retrain every app that declares a training entry point, if a retrain is due."""
    now = project.clock().now()
    ledger = Ledger(project.ledger_url)
    recent = ledger.events(kind=_EVENT, limit=50)
    if any(_scheduled(e) == now for e in recent):
        return RetrainOutcome(False, f"already retrained for {now:%Y-%m-%d %H:%M} UTC")
    due, why = _why(project, ledger, recent[0] if recent else None, now)
    if not due:
        return RetrainOutcome(False, why)
    trainers = [app for app in apps if app.retrain is not None]
    if not trainers:
        raise CannotRun("no app declares a training entry point (App.retrain)")
    outcome = RetrainOutcome(True, why)
    try:
        for app in trainers:
            for trained in app.retrain(project, f"retrain: {why}"):
                outcome.versions[trained.model] = trained.version
    except DataError as exc:
        raise CannotRun(f"cannot train yet: {exc.headline}") from None
    ledger.record(
        _EVENT,
        "job:retrain",
        outcome.summary(),
        details={"scheduled_for": now.isoformat(), "trigger": why, "versions": outcome.versions},
    )
    return outcome


@job(
    "retrain",
    "train on the newest snapshots, weekly or after a drift or metric alert",
    schedule="0 * * * *",  # looks hourly; trains weekly or when monitoring alerted
    catch_up="latest",  # one retrain catches up any number of missed looks
    retries=1,
    after=("snapshot", "monitor"),  # the newest snapshot, the newest alerts
)
def retrain(project: Project) -> RetrainOutcome:
    """Retrain if due (see the module)."""
    return retrain_apps(project, load_apps())
