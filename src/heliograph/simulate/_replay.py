"""One policy replayed: history through the real jobs, on a replay clock, in a project of its own.

``replay_policy(replay, policy)`` makes a throwaway project (the user's configuration, its
state in a folder of its own: lake, MLflow store, ledger, online store, all embedded, whatever
the user's project points at) and steps a fixed clock once a day at ``replay.at`` UTC from the
day before ``replay.start`` to the day before ``replay.end``. Each step is what the scheduler
runs at that hour, called through ``heliograph.jobs``: ``ingest`` (what became known by
then), ``materialize`` (of the views ingest did not just materialise), ``actuals``,
``monitor``; the ``retrain`` job when the policy says (always on the first step: the first
training; ``snapshot`` first); ``promote`` (on live
evidence, or each new challenger at once when the policy promotes on backtests); and
``predict`` (every service's scheduled questions, champion and challenger). Then the
champion's predictions for targets in ``[start, end)`` are judged: error per service, and each
service's business metric as its app declares it (per model, e.g. per market, summed over the
service's models), day by day and from the span's first day to each day: the span's figures
are the last day's "to date" ones.

Example::

    result = replay_policy(Replay(project.root, project.settings, start, end, folder), policy)
    result.error["price-forecast"]["mae"], result.business
"""

from __future__ import annotations

import copy
import math
import time as timer
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from heliograph.core import App, DataError, FixedClock, Project, Settings, app_services, load_apps
from heliograph.jobs import (
    CannotRun,
    ingest,
    materialize,
    monitor,
    online_views,
    predict_services,
    promote_on_evidence,
    record_realised,
    retrain_apps,
    snapshot,
    triggers_retrain,
)
from heliograph.ledger import Ledger, judged_predictions
from heliograph.monitoring import app_business_metrics
from heliograph.registry import CHAMPION, Registry

from ._policy import Policy

__all__ = ["PolicyResult", "Replay", "replay_policy"]


@dataclass(frozen=True)
class Replay:
    """What every policy replays: the user's project (``root``, ``settings``), the span of
    targets judged ``[start, end)``, the hour of each daily step, and where throwaway
    projects go."""

    root: Path
    settings: Settings
    start: datetime
    end: datetime
    folder: Path
    at: time = time(10, 0)

    def steps(self) -> list[datetime]:
        """The daily steps: from the day before ``start`` to the day before ``end``."""
        first = datetime.combine(self.start.date() - timedelta(days=1), self.at, tzinfo=UTC)
        days = (self.end.date() - self.start.date()).days
        return [first + timedelta(days=i) for i in range(days)]


@dataclass
class PolicyResult:
    """What one policy did and earned: ``error`` per service (MAE, judged periods),
    ``business`` per service metric (over the span; None when it cannot be computed),
    ``daily`` rows (day, service, the day's ``mae``, ``periods`` and business metric, the
    same from the span's first day, ``*_to_date``, and champion versions), counts of
    retrains, promotions and alerts, the notes of steps that could not run, and seconds."""

    policy: str
    summary: str
    error: dict[str, dict[str, float]] = field(default_factory=dict)
    business: dict[str, float | None] = field(default_factory=dict)
    daily: list[dict[str, Any]] = field(default_factory=list)
    retrains: int = 0
    promotions: int = 0
    alerts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0

    def line(self) -> dict[str, Any]:
        """The figures of the JSON line (no daily rows)."""
        return {
            "policy": self.policy,
            "error": self.error,
            "business": self.business,
            "retrains": self.retrains,
            "promotions": self.promotions,
            "alerts": self.alerts,
            "steps": self.steps,
            "seconds": round(self.seconds, 1),
        }


def _throwaway(replay: Replay, policy: Policy) -> Project:
    """The user's project with its state (and every store) in a folder of its own."""
    state = (replay.folder / policy.name).resolve()
    data = replay.settings.model_dump()
    data["project"]["state_dir"] = str(state)
    data["lake"]["path"] = ""
    data["tracking"] = {"uri": "", "artifacts": ""}
    data["ledger"]["url"] = ""
    data["online_store"] = {**data["online_store"], "backend": "sqlite", "url": "", "prefix": ""}
    settings = policy.apply(Settings.model_validate(data))
    return Project(replay.root, settings, None)


def _at(project: Project, now: datetime) -> Project:
    return copy.copy(project).with_clock(FixedClock(now))


def _apps(settings: Settings) -> list[App]:
    """The installed apps whose datasets the project declares."""
    declared = set(settings.datasets)
    return [a for a in load_apps() if set(a.datasets) & declared]


def _retrain_due(policy: Policy, ledger: Ledger, now: datetime) -> bool:
    retrains = ledger.events(kind="retrained", limit=1)
    if not retrains:
        return True  # the first training, whatever the policy
    if policy.retrain.when == "never":
        return False
    last = retrains[0]
    if policy.retrain.when == "every":
        when = datetime.fromisoformat(last.details["scheduled_for"])
        return now - when >= timedelta(days=policy.retrain.every_days or math.inf)
    alerts = ledger.events(kind="alert_raised", limit=500)
    return any(e.id > last.id and triggers_retrain(e, policy.retrain.alerts) for e in alerts)


def _step(
    project: Project, policy: Policy, apps: Sequence[App], services: Sequence[Any], notes: list[str]
) -> None:
    """What the scheduler runs at the step's hour (see the module)."""
    now = project.clock().now()
    ledger = Ledger(project.ledger_url)
    ingested = ingest(project, ledger=ledger)
    # The materialize job after ingest brings the views ingest did not (a pass over a view
    # ingest just brought up to the lake at this same moment would change nothing).
    fresh = {o.view for o in ingested.materialized}
    if ingested.materialize_errors or {v.ref for v in online_views(project)} - fresh:
        materialize(project)
    record_realised(project, apps)
    monitor(project)
    if _retrain_due(policy, ledger, now):
        snapshot(project, ledger=ledger)
        try:
            done = retrain_apps(project, apps)
        except (CannotRun, DataError) as exc:
            notes.append(f"{now:%Y-%m-%d %H:%M}: retrain: {getattr(exc, 'headline', exc)}")
            done = None
        if done is not None and done.trained and policy.promote.when == "backtest":
            registry = Registry(project)
            for name in done.versions:
                if CHAMPION in registry.aliases(name):
                    registry.promote(name, reason=f"policy {policy.name}: on its backtest")
    promote_on_evidence(project, apps)  # the first champion, and (live) challengers
    predict_services(project, services)


def _judge(
    project: Project, replay: Replay, services: Sequence[Any], apps: Sequence[App]
) -> tuple[dict[str, dict[str, float]], dict[str, float | None], list[dict[str, Any]]]:
    """Each service's daily rows (``_days``); the span's figures are its last day's "to
    date" figures, so the plot (drawn from the rows) ends where the summary does."""
    metrics = app_business_metrics(apps)
    error: dict[str, dict[str, float]] = {}
    business: dict[str, float | None] = {}
    daily: list[dict[str, Any]] = []
    for service in services:
        judged = judged_predictions(
            project.ledger_url, service.name, since=replay.start, until=replay.end
        )
        judged = judged[(judged["role"] == CHAMPION) & judged["actual"].notna()]
        if judged.empty or "p50" not in judged:
            continue
        metric = metrics.get(service.name)
        rows = _days(service.name, judged, metric)
        last = rows[-1]
        error[service.name] = {"mae": last["mae_to_date"], "periods": last["periods_to_date"]}
        if metric is not None:
            business[f"{service.name}.{metric.name}"] = last[f"{metric.name}_to_date"]
        daily.extend(rows)
    return error, business, daily


def _days(service: str, judged: pd.DataFrame, metric: Any) -> list[dict[str, Any]]:
    """One row per UTC day of target times, in order: the day's MAE and periods, and from
    the span's first day to this one (``_to_date``) the MAE, the periods and the business
    metric. The metric is computed per model (the energy app: per market; an app's metric
    takes one model's predictions) and summed over the service's models."""
    miss = (judged["p50"] - judged["actual"]).abs()
    days = pd.to_datetime(judged["target_time"], utc=True).dt.floor("D")
    rows: list[dict[str, Any]] = []
    for day in sorted(days.unique()):
        today, to_date = days == day, days <= day
        row: dict[str, Any] = {
            "day": f"{day:%Y-%m-%d}",
            "service": service,
            "mae": float(miss[today].mean()),
            "periods": int(today.sum()),
            "mae_to_date": float(miss[to_date].mean()),
            "periods_to_date": int(to_date.sum()),
            "versions": sorted(set(judged.loc[today, "model_version"].astype(str))),
        }
        if metric is not None:
            row[metric.name] = _business(metric, judged[today])
            row[f"{metric.name}_to_date"] = _business(metric, judged[to_date])
        rows.append(row)
    return rows


def _business(metric: Any, judged: pd.DataFrame) -> float | None:
    """``metric`` on each model's rows of ``judged``, summed; None when it cannot be
    computed on any of them."""
    values = []
    for _, rows in judged.groupby("model_name", sort=True):
        try:
            value = float(metric.compute(rows))
        except ValueError:  # the metric says it cannot be computed on these rows
            continue
        if math.isfinite(value):
            values.append(value)
    return float(sum(values)) if values else None


def replay_policy(replay: Replay, policy: Policy) -> PolicyResult:
    """Replay ``policy`` (see the module); runs in a worker process of its own."""
    began = timer.perf_counter()
    project = _throwaway(replay, policy)
    apps = _apps(project.settings)
    services = app_services(apps)
    result = PolicyResult(policy.name, policy.summary())
    champions: dict[str, str] = {}
    for now in replay.steps():
        at = _at(project, now)
        _step(at, policy, apps, services, result.notes)
        registry = Registry(at)
        for name in registry.models():
            held = registry.aliases(name).get(CHAMPION)
            if held is not None and champions.get(name, held) != held:
                result.promotions += 1
            if held is not None:
                champions[name] = held
        result.steps += 1
    final = _at(project, replay.end)
    ingest(final)  # the last day's prices, known by its end
    record_realised(final, apps)
    ledger = Ledger(project.ledger_url)
    result.retrains = max(0, len(ledger.events(kind="retrained", limit=100_000)) - 1)
    for event in ledger.events(kind="alert_raised", limit=100_000):
        kind = str(event.details.get("alert", "other"))
        result.alerts[kind] = result.alerts.get(kind, 0) + 1
    result.error, result.business, result.daily = _judge(project, replay, services, apps)
    if not champions:
        result.notes.append("no champion was ever served: nothing was predicted")
    result.seconds = timer.perf_counter() - began
    return result
