"""What the dashboard shows, read without a browser: plain functions returning frames.

Each reads the monitor's pre-aggregated results (``monitor_results``), the events and bounded
indexed ledger queries (``sampled_predictions``, ``monitor_history``, ``read_actuals`` over a
window), never the whole prediction ledger, so a page costs the same at ten million rows as
at a thousand. A function with nothing to show returns an empty frame; ``HINTS`` says what to
run then, and the pages show that sentence.

Example::

    view = overview(project)
    view.aliases[["service", "model", "alias", "version", "since"]]
    forecast(project, "price-forecast", "energy-price-GB")[["target_time", "role", "p50"]]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from heliograph.core import Project, as_utc, redacted, secret_values
from heliograph.ledger import (
    Event,
    Ledger,
    MonitorResult,
    monitor_history,
    newest_window_ends,
    read_actuals,
    sampled_predictions,
)

__all__ = [
    "HINTS",
    "TIMELINE_KINDS",
    "Overview",
    "Verdict",
    "drift",
    "drift_history",
    "events",
    "forecast",
    "live_metrics",
    "metric_names",
    "models_of",
    "overview",
    "services_of",
    "verdicts",
]

HINTS = {
    "services": "No service has been monitored yet. Record predictions (`helio job run "
    "predict`, or `helio serve` answering requests), then run `helio job run monitor` "
    "(`helio up` runs both on their schedules).",
    "forecast": "No forecast of this model in this window. Run `helio job run predict` (or "
    "`helio up`); actuals come with `helio job run actuals`.",
    "metrics": "No live metrics yet: they need actuals. Run `helio job run actuals`, then "
    "`helio job run monitor`.",
    "verdict": "No live verdict yet: the `promote` job judges a challenger once it has "
    "shadowed `[monitoring] min_shadow_hours` (`helio job run promote`).",
    "drift": "No drift figures yet: `helio job run monitor` computes them for versions "
    "registered with a training reference.",
    "alerts": "No alert has been raised.",
    "events": "No events yet: every job, promotion, rollback and alert records one.",
    "checks": "No check has run yet: checks run on every new partition (`helio job run "
    "ingest`), or again with `helio check run`.",
    "quarantine": "Nothing is quarantined: every partition passed its blocking checks.",
    "reports": "No data report yet: run `helio job run report`.",
    "lineage": "Enter a prediction's record id or request id (the `request_id` of an "
    "answer), a snapshot id DATASET@HASH or a partition DATASET/date=YYYY-MM-DD.",
}

TIMELINE_KINDS = (
    "model_registered",
    "alias_moved",
    "promotion_refused",
    "promotion_forced",
    "live_verdict",
    "alert_raised",
    "alert_undelivered",
    "job_failed",
    "job_not_run",
    "check_failed",
    "check_warning",
    "data_quarantined",
    "snapshot_retracted",
    "materialize_failed",
)
"""The events of the timeline: deployments, promotions, refusals, rollbacks, alerts,
failures. Routine ones (``snapshot_taken``, ``invocations``) are left out."""

_EVENTS = 100_000  # alias moves read back (a project has far fewer)


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


def _results_frame(results: list[MonitorResult]) -> pd.DataFrame:
    columns = ["model_name", "model_version", "role", "window_hours", "window_end"]
    columns += ["kind", "name", "feature", "value", "count"]
    rows = [{c: getattr(r, c) for c in columns} for r in results]
    frame = _frame(rows, columns)
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    frame["window_end"] = pd.to_datetime(frame["window_end"], utc=True)
    return frame


# -- overview ---------------------------------------------------------------------------------


@dataclass
class Overview:
    """The overview page: who holds each alias since when, health, the newest alerts."""

    aliases: pd.DataFrame  # service, model, alias, version, since, reason
    health: pd.DataFrame  # subject, alerting, checked_at
    alerts: pd.DataFrame  # at, subject, reason


_HEALTH_SUBJECTS = ("service:", "job:", "spool")


def _health(project: Project) -> pd.DataFrame:
    """Each health subject's state at its newest pass: one indexed range per subject."""
    rows = []
    for subject, end in sorted(
        newest_window_ends(project.ledger_url, prefixes=_HEALTH_SUBJECTS).items()
    ):
        for r in monitor_history(
            project.ledger_url, subject, since=end, kind="health", name="alerting"
        ):
            rows.append({"subject": subject, "alerting": bool(r.value), "checked_at": end})
    return _frame(rows, ["subject", "alerting", "checked_at"])


def services_of(project: Project) -> dict[str, datetime]:
    """Each monitored service and the end of its newest monitor pass (the pass remembers
    the service's health as ``service:NAME``)."""
    ends = newest_window_ends(project.ledger_url, prefixes=("service:",))
    return {subject.removeprefix("service:"): end for subject, end in sorted(ends.items())}


def _end(project: Project, service: str, end: datetime | None) -> datetime | None:
    return services_of(project).get(service) if end is None else end


def _latest_pass(project: Project, service: str, end: datetime) -> list[MonitorResult]:
    """The results of ``service``'s newest pass (the one ending at ``end``)."""
    return monitor_history(project.ledger_url, service, since=end, until=end + timedelta(seconds=1))


def models_of(project: Project, service: str, end: datetime | None = None) -> list[str]:
    """The models ``service``'s newest monitor pass (ending at ``end``, when known) judged:
    one per market in the energy app."""
    end = _end(project, service, end)
    if end is None:
        return []
    return sorted({r.model_name for r in _latest_pass(project, service, end) if r.model_name})


def _alias_holders(ledger: Ledger) -> dict[tuple[str, str], Event]:
    """``{(model, alias): the event that gave it to its holder}``, replayed oldest first."""
    holders: dict[tuple[str, str], Event] = {}
    for event in reversed(ledger.events(kind="alias_moved", limit=_EVENTS)):
        model = event.subject.removeprefix("model/")
        key = (model, str(event.details.get("alias", "")))
        if event.details.get("to") is None:
            holders.pop(key, None)
        else:
            holders[key] = event
    return holders


def overview(project: Project, *, alerts: int = 20) -> Overview:
    """Every model's aliases (with the service that serves it, when monitored), each health
    subject's state at the newest pass, and the newest ``alerts``."""
    ledger = Ledger(project.ledger_url)
    try:
        service_of: dict[str, str] = {}
        for service, end in services_of(project).items():
            for result in _latest_pass(project, service, end):
                if result.model_name:
                    service_of[result.model_name] = service
        rows = [
            {
                "service": service_of.get(model, ""),
                "model": model,
                "alias": alias,
                "version": str(event.details.get("to")),
                "since": event.at,
                "reason": event.reason.split(": ", 2)[-1],
            }
            for (model, alias), event in sorted(_alias_holders(ledger).items())
        ]
        raised = [
            {"at": e.at, "subject": e.subject, "reason": e.reason}
            for e in ledger.events(kind="alert_raised", limit=alerts)
        ]
        raised = redacted(raised, secret_values(project.settings))  # a webhook URL, say
    finally:
        ledger.close()
    return Overview(
        aliases=_frame(rows, ["service", "model", "alias", "version", "since", "reason"]),
        health=_health(project),
        alerts=_frame(raised, ["at", "subject", "reason"]),
    )


# -- forecast against actual ------------------------------------------------------------------


def _targets(record: Any) -> list[dict[str, Any]]:
    """One row per target time of a record whose outputs are lists (or numbers) per key."""
    outputs = record.outputs
    if not isinstance(outputs, dict) or not outputs:
        return []
    lists = {k: v if isinstance(v, list) else [v] for k, v in outputs.items()}
    count = len(next(iter(lists.values())))
    if count == 0 or any(len(v) != count for v in lists.values()):
        return []
    first = record.target_start or record.at
    last = record.target_end or first
    step = (last - first) / (count - 1) if count > 1 else timedelta(0)
    as_of = as_utc(record.as_of or record.at)
    head = {"as_of": as_of, "role": record.role, "version": record.model_version}
    return [
        {**head, "target_time": first + i * step, **{k: v[i] for k, v in lists.items()}}
        for i in range(count)
    ]


def forecast(
    project: Project,
    service: str,
    model: str,
    *,
    hours: float = 48.0,
    end: datetime | None = None,
) -> pd.DataFrame:
    """Champion and challenger forecasts of ``model`` for the ``hours`` before ``end`` (the
    project's now) and what the newest forecast says after it, with the actuals: for each
    role and target time the newest forecast made before that time (sampled, the first
    answer of each hour). Columns ``target_time``, ``role``, ``version``, ``as_of``, the
    output keys (``p10``, ``p50``, ``p90`` …) and ``actual`` (NaN while unknown)."""
    end = as_utc(end or project.clock().now())
    since = end - timedelta(hours=hours)
    records = sampled_predictions(
        project.ledger_url, service, model_name=model, since=since, until=end
    )
    rows = [row for record in records for row in _targets(record)]
    if not rows:
        return pd.DataFrame(columns=["target_time", "role", "version", "as_of", "actual"])
    frame = pd.DataFrame(rows)
    frame["target_time"] = pd.to_datetime(frame["target_time"], utc=True)
    frame["as_of"] = pd.to_datetime(frame["as_of"], utc=True)
    for key in {k for r in records if isinstance(r.outputs, dict) for k in r.outputs}:
        frame[key] = pd.to_numeric(frame[key], errors="coerce")
    frame = frame[(frame["target_time"] >= since) & (frame["as_of"] <= frame["target_time"])]
    frame = frame.sort_values("as_of").drop_duplicates(["role", "target_time"], keep="last")
    until = frame["target_time"].max() + timedelta(seconds=1)
    actuals = read_actuals(project.ledger_url, service, since=since, until=until, model_name=model)
    actuals = actuals.rename(columns={"value": "actual"})[["target_time", "actual"]]
    frame = frame.merge(actuals, on="target_time", how="left")
    return frame.sort_values(["role", "target_time"]).reset_index(drop=True)


# -- live metrics and the policy's verdict ----------------------------------------------------


def _window(project: Project, kind: str | None) -> float:
    """The window a page shows: drift's own for drift, else the monitor's shortest."""
    monitoring = project.settings.monitoring
    return monitoring.drift_window_hours if kind == "drift" else min(monitoring.windows_hours)


def _history(
    project: Project,
    service: str,
    end: datetime | None,
    days: float,
    **which: Any,
) -> pd.DataFrame:
    """What ``service``'s passes of the ``days`` before its newest (or ``end``) stored for
    the shortest window (drift: its own window), narrowed by ``which`` (``monitor_history``'s
    filters)."""
    end = _end(project, service, end)
    if end is None:
        return _results_frame([])
    window = _window(project, which.get("kind"))
    since = end - timedelta(days=days)
    found = monitor_history(project.ledger_url, service, since=since, window_hours=window, **which)
    return _results_frame(found)


def live_metrics(
    project: Project,
    service: str,
    metric: str | None = None,
    *,
    days: float = 7.0,
    end: datetime | None = None,
) -> pd.DataFrame:
    """The live ``metric`` (every metric: None) of ``service`` per model, version and role at
    each monitor pass of the last ``days`` before the newest, for the shortest window."""
    # a metric's feature is "": named, the (service, kind, name, feature, end) index is used
    return _history(project, service, end, days, kind="metric", name=metric, features=[""])


def metric_names(project: Project, service: str, end: datetime | None = None) -> list[str]:
    """The live metrics ``service``'s newest pass computed."""
    end = _end(project, service, end)
    if end is None:
        return []
    return sorted({r.name for r in _latest_pass(project, service, end) if r.kind == "metric"})


@dataclass
class Verdict:
    """The policy on one model: the ``promote`` job's newest verdict (an event), and where
    the two versions stand at the newest monitor pass on the policy's metric."""

    model: str
    champion: str | None
    challenger: str | None
    metric: str
    decision: str  # the newest live_verdict's reason, "" when none was made
    decided_at: datetime | None
    champion_value: float
    challenger_value: float
    standing: str  # a sentence about the newest pass; never a decision


def _standing(metric: str, direction: str, margin: float, champ: float, chall: float) -> str:
    if math.isnan(champ) or math.isnan(chall):
        return f"the newest pass has no {metric} for both roles yet"
    from heliograph.registry import relative_change  # imports MLflow: only when asked

    change = relative_change(chall, champ)
    better = change < -margin if direction == "minimize" else change > margin
    way = "better" if better else "not better enough"
    return (
        f"challenger {metric} {chall:.4g} vs champion {champ:.4g} ({change:+.1%}): {way} "
        f"by the policy's margin {margin:.0%} at the newest pass (the promote job decides)"
    )


def verdicts(project: Project, service: str, end: datetime | None = None) -> list[Verdict]:
    """One ``Verdict`` per model of ``service`` that has a champion or a challenger."""
    end = _end(project, service, end)
    if end is None:
        return []
    policy = project.settings.policy
    window = max(project.settings.monitoring.windows_hours)
    latest = [r for r in _latest_pass(project, service, end) if r.kind == "metric"]
    ledger = Ledger(project.ledger_url)
    try:
        holders = _alias_holders(ledger)
        found = []
        for model in sorted({r.model_name for r in latest}):
            value = {
                r.role: float("nan") if r.value is None else r.value
                for r in latest
                if r.model_name == model and r.name == policy.metric and r.window_hours == window
            }
            champ = holders.get((model, "champion"))
            chall = holders.get((model, "challenger"))
            decided = ledger.events(kind="live_verdict", subject=f"model/{model}", limit=1)
            values = (value.get("champion", math.nan), value.get("challenger", math.nan))
            found.append(
                Verdict(
                    model=model,
                    champion=None if champ is None else str(champ.details.get("to")),
                    challenger=None if chall is None else str(chall.details.get("to")),
                    metric=policy.metric,
                    decision=decided[0].reason if decided else "",
                    decided_at=decided[0].at if decided else None,
                    champion_value=values[0],
                    challenger_value=values[1],
                    standing=_standing(policy.metric, policy.direction, policy.min_margin, *values),
                )
            )
    finally:
        ledger.close()
    return found


# -- drift ------------------------------------------------------------------------------------


def drift(project: Project, service: str, end: datetime | None = None) -> pd.DataFrame:
    """The newest pass's drift of each feature and of the predictions, per version and role,
    over drift's window (``[monitoring] drift_window_hours``), with the ``threshold`` each
    statistic is held to (NaN: none)."""
    end = _end(project, service, end)
    if end is None:
        return _results_frame([]).assign(threshold=[])
    window = _window(project, "drift")
    results = [
        r
        for r in _latest_pass(project, service, end)
        if r.kind == "drift" and r.window_hours == window
    ]
    frame = _results_frame(results)
    limits = project.settings.monitoring.model_dump()
    frame["threshold"] = [float(limits.get(n, math.nan)) for n in frame["name"]]
    frame["over"] = frame["value"].abs() > frame["threshold"]
    return frame


def drift_history(
    project: Project,
    service: str,
    statistic: str,
    features: list[str],
    *,
    model_version: str,
    role: str,
    model_name: str | None = None,
    days: float = 7.0,
    end: datetime | None = None,
) -> pd.DataFrame:
    """``statistic`` of ``features`` of one version and role (of ``model_name``: each
    market's model numbers its own versions) at each pass of the last ``days``, over drift's
    window."""
    if not features:
        return _results_frame([])
    which: dict[str, Any] = {"model_version": model_version, "role": role, "features": features}
    if model_name is not None:
        which["model_name"] = model_name
    return _history(project, service, end, days, kind="drift", name=statistic, **which)


# -- events -----------------------------------------------------------------------------------


def events(
    project: Project, kinds: tuple[str, ...] = TIMELINE_KINDS, *, per_kind: int = 50
) -> pd.DataFrame:
    """The newest ``per_kind`` events of each of ``kinds``, newest first: one indexed query
    per kind, so a flood of alerts does not hide the promotions."""
    ledger = Ledger(project.ledger_url)
    try:
        found = [e for kind in kinds for e in ledger.events(kind=kind, limit=per_kind)]
    finally:
        ledger.close()
    found.sort(key=lambda e: e.id, reverse=True)
    rows = [
        {"at": e.at, "kind": e.kind, "subject": e.subject, "reason": e.reason, "actor": e.actor}
        for e in found
    ]
    rows = redacted(rows, secret_values(project.settings))  # alert_undelivered names its URL
    return _frame(rows, ["at", "kind", "subject", "reason", "actor"])
