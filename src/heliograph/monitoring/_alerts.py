"""Alerts: a figure crossing its ``[monitoring]`` threshold, as an event and a webhook post.

A figure alerts when it *crosses* its threshold: over it now, and not over it at the same
key's previous window end (or there was none). A drift that persists is one alert, not one
per run; when it falls back and rises again, that is a new alert. Drift is summarised per
version: one pass raises at most one drift alert per (service, model version, role), when
some watched feature (or the predictions) crossed, naming every feature then over its
threshold, worst first. Each alert is an event ``alert_raised`` in the ledger (subject: what
it is about; details: the figure, the threshold, the drifted features and the alert's
``key``), all of one pass's alerts written in one transaction, and all of them one post to
``[monitoring] webhook_url``.

**Exactly once per pass.** An alert is identified by its ``Alert.key`` (kind, subject, and
for a metric or health alert its figure and window) and by the pass's time, which its event
carries (``at``: the pass's scheduled time). ``raise_alerts`` writes only the alerts whose
identity is not in the ledger yet, so a pass run again for the same time (a retry after a
fault, a run interrupted by Ctrl-C) raises nothing twice. ``post_alerts`` posts the pass's
alerts that no ``alert_delivered`` event of the pass names, then records one: a re-run posts
only what was not delivered, and a post that failed all its attempts (an event
``alert_undelivered`` with the error; the job goes on) is tried again by a re-run of that
pass, never by later passes. The one window left: a post answered 2xx and the process stopped
before ``alert_delivered`` was written posts again on the re-run (at least once there).

Example::

    alerts = threshold_alerts(results, previous, settings.monitoring)
    deliver_alerts(alerts, Ledger(url), settings.monitoring, at=window_end)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from heliograph.core import MonitoringSettings, as_utc
from heliograph.ledger import Ledger, MonitorResult

from ._webhook import WebhookDelivery, post_webhook

__all__ = [
    "Alert",
    "deliver_alerts",
    "post_alerts",
    "raise_alerts",
    "result_key",
    "threshold_alerts",
]

_DRIFT_LIMITS = ("psi", "ks", "wasserstein", "jensen_shannon")


@dataclass(frozen=True)
class Alert:
    """One threshold crossed: ``kind`` (``drift``, ``metric``, ``health``), the ``subject``
    (``service/model/vVERSION/role``, ``job:NAME``, ``spool``), the figure's ``name`` and
    ``value``, the ``threshold`` and a sentence a person can act on. A drift alert's figure
    is its worst feature's."""

    kind: str
    subject: str
    name: str
    value: float
    threshold: float
    reason: str
    features: tuple[str, ...] = ()
    """A drift alert's drifted features, worst first (``prediction``: the predictions)."""
    window_hours: float | None = None
    """A metric alert's window (one figure can cross over several windows)."""

    @property
    def key(self) -> str:
        """What identifies the alert within a pass: ``drift|SUBJECT`` (one per version and
        pass, whichever features drifted), ``KIND|SUBJECT|FIGURE`` and its window if any."""
        if self.kind == "drift":
            return f"drift|{self.subject}"
        window = "" if self.window_hours is None else f"|{self.window_hours:g} h"
        return f"{self.kind}|{self.subject}|{self.name}{window}"


def result_key(result: MonitorResult) -> tuple[object, ...]:
    """What identifies a figure across window ends (to find its previous value)."""
    return (
        result.service,
        result.model_name,
        result.model_version,
        result.role,
        result.window_hours,
        result.kind,
        result.name,
        result.feature,
    )


def _subject(result: MonitorResult) -> str:
    parts = [result.service, result.model_name, f"v{result.model_version}", result.role]
    return "/".join([*parts, result.feature] if result.feature else parts)


def _limit(result: MonitorResult, settings: MonitoringSettings) -> float | None:
    """The threshold ``result``'s absolute value is held to, or None (no alert on it)."""
    if result.kind == "drift" and result.name in _DRIFT_LIMITS:
        if result.count < settings.drift_min_values:
            return None
        return float(getattr(settings, result.name))
    if result.kind == "metric" and result.name == "coverage_gap":
        return None if result.count < settings.min_judged else settings.coverage_tolerance
    if result.kind == "metric" and result.name == "mae_degradation" and settings.degradation:
        return None if result.count < settings.min_judged else settings.degradation
    return None


def _over(value: float | None, limit: float) -> bool:
    return value is not None and math.isfinite(value) and abs(value) > limit


def _over_limit(result: MonitorResult, value: float | None, limit: float) -> bool:
    """Over the threshold: in size, or (for a degradation, where better is no alarm) above."""
    if result.name == "mae_degradation":
        return value is not None and math.isfinite(value) and value > limit
    return _over(value, limit)


def _version(result: MonitorResult) -> tuple[str, str, str, str]:
    return (result.service, result.model_name, result.model_version, result.role)


def _drift_alert(
    over: list[tuple[MonitorResult, float]], newly: Mapping[str, Sequence[str]]
) -> Alert:
    """One version's drift: every (feature, statistic, window) over its limit, summarised
    per feature by its worst figure relative to its limit; ``newly``: per feature, the
    statistics that crossed their threshold at this pass (the others were over already)."""
    worst: dict[str, tuple[MonitorResult, float]] = {}
    for result, limit in over:
        ratio = abs(float(result.value or 0.0)) / limit
        held = worst.get(result.feature)
        if held is None or ratio > abs(float(held[0].value or 0.0)) / held[1]:
            worst[result.feature] = (result, limit)
    ranked = sorted(worst.values(), key=lambda p: -abs(float(p[0].value or 0.0)) / p[1])
    top, limit = ranked[0]

    def named(r: MonitorResult, lim: float) -> str:
        new = newly.get(r.feature)
        crossed = f"; newly over: {', '.join(new)}" if new else ""
        figure = f"{r.name} {float(r.value or 0.0):.3g} > {lim:g}, {r.window_hours:g} h"
        return f"{r.feature} ({figure}{crossed})"

    new_count = sum(1 for r, _ in ranked if newly.get(r.feature))
    count = f"{len(ranked)} feature{'s' if len(ranked) > 1 else ''}"
    count += " drifted" + ("" if new_count == len(ranked) else f" ({new_count} newly)")
    rest = [r.feature for r, _ in ranked[_NAMED:]]
    rest_new = [f for f in rest if newly.get(f)] if new_count < len(ranked) else []
    more = f" and {len(rest)} more" if rest else ""
    if rest_new:  # named too: what is new is what a person looks for
        cut = ", ..." if len(rest_new) > _NAMED else ""
        more += f" (newly: {', '.join(rest_new[:_NAMED])}{cut})"
    reason = (
        f"{count} to {top.window_end:%Y-%m-%d %H:%M} UTC: "
        f"{', '.join(named(r, lim) for r, lim in ranked[:_NAMED])}{more}"
    )
    subject = "/".join([top.service, top.model_name, f"v{top.model_version}", top.role])
    features = tuple(r.feature for r, _ in ranked)
    return Alert("drift", subject, top.name, float(top.value or 0.0), limit, reason, features)


_NAMED = 5  # features named in a drift alert's reason (all are in its details)


def _alerting(result: MonitorResult | None, settings: MonitoringSettings) -> bool:
    """Whether ``result`` was an alert's figure: over its threshold *and* held to one (enough
    judged predictions or drift values). A figure over its threshold on too few rows was no
    alert, so the first pass with enough rows still over it is the crossing."""
    if result is None:
        return False
    limit = _limit(result, settings)
    return limit is not None and _over_limit(result, result.value, limit)


def threshold_alerts(
    results: Iterable[MonitorResult],
    previous: Mapping[tuple[object, ...], MonitorResult],
    settings: MonitoringSettings,
) -> list[Alert]:
    """The alerts of ``results``: each figure over its threshold that was not an alert's
    figure at its previous window end (``previous``: ``result_key`` → that figure, its count
    included); drift summarised in one alert per version (see the module)."""
    alerts = []
    drifted: dict[tuple[str, str, str, str], list[tuple[MonitorResult, float]]] = {}
    newly: dict[tuple[str, str, str, str], dict[str, list[str]]] = {}
    for result in results:
        limit = _limit(result, settings)
        if limit is None or not _over_limit(result, result.value, limit):
            continue
        new = not _alerting(previous.get(result_key(result)), settings)
        if result.kind == "drift":
            drifted.setdefault(_version(result), []).append((result, limit))
            crossed = newly.setdefault(_version(result), {})
            if new and result.name not in crossed.get(result.feature, []):
                crossed.setdefault(result.feature, []).append(result.name)
            continue
        if not new:
            continue  # still over: alerted when it crossed
        value = float(result.value or 0.0)
        window = f"{result.window_hours:g} h window"
        end = f"{result.window_end:%Y-%m-%d %H:%M} UTC"
        if result.name == "mae_degradation":
            reason = (
                f"MAE degraded: {100 * value:+.0f}% over the {window} to {end} against the "
                f"rest of the {max(settings.windows_hours):g} h window before it (> {limit:.0%})"
            )
        else:
            reason = (
                f"interval coverage is off its nominal level by {value:+.3f} (> ±{limit:g}) "
                f"over the {window} to {end}"
            )
        alerts.append(
            Alert(
                result.kind,
                _subject(result),
                result.name,
                value,
                limit,
                reason,
                window_hours=result.window_hours,
            )
        )
    for version, over in sorted(drifted.items()):
        if newly[version]:
            alerts.append(_drift_alert(over, newly[version]))
    return alerts


_PASS_EVENTS = 100_000  # a pass's events read back (a pass raises far fewer)


def _details(alert: Alert) -> dict[str, Any]:
    details: dict[str, Any] = {"alert": alert.kind, "name": alert.name, "value": alert.value}
    details["threshold"] = alert.threshold
    if alert.features:
        details["features"] = list(alert.features)
    if alert.window_hours is not None:
        details["window_hours"] = alert.window_hours
    details["key"] = alert.key
    return details


def raise_alerts(alerts: Sequence[Alert], ledger: Ledger, *, at: datetime) -> list[Alert]:
    """Record as ``alert_raised`` events at ``at`` (the pass's time) the ``alerts`` whose
    identity (``Alert.key`` at ``at``) the ledger does not hold yet, all in one transaction;
    returns those it wrote."""
    if not alerts:
        return []
    held = {
        e.details.get("key") for e in ledger.events(kind="alert_raised", at=at, limit=_PASS_EVENTS)
    }
    new, keys = [], set()
    for alert in alerts:
        if alert.key not in held and alert.key not in keys:
            new.append(alert)
            keys.add(alert.key)
    events = [("alert_raised", a.subject, a.reason, _details(a)) for a in new]
    ledger.record_many(events, at=at)  # one transaction: all of the pass's alerts, or none
    return new


def post_alerts(
    ledger: Ledger, settings: MonitoringSettings, *, at: datetime, backoff: float = 0.5
) -> WebhookDelivery | None:
    """Post to the webhook, in one message, the alerts raised at ``at`` that no
    ``alert_delivered`` event at ``at`` names, and record the outcome: ``alert_delivered``
    (their keys) or ``alert_undelivered`` (the error). None: no webhook, or nothing to post."""
    if not settings.webhook_url:
        return None
    delivered: set[str] = set()
    for event in ledger.events(kind="alert_delivered", at=at, limit=_PASS_EVENTS):
        delivered.update(event.details.get("keys", []))
    raised = reversed(ledger.events(kind="alert_raised", at=at, limit=_PASS_EVENTS))
    skip = delivered | {""}  # an event without a key was written (and posted) by an older release
    pending = [e for e in raised if e.details.get("key", "") not in skip]
    if not pending:
        return None
    lines = [f"heliograph: {len(pending)} alert{'s' if len(pending) > 1 else ''}"]
    lines += [f"• {e.subject}: {e.reason}" for e in pending]
    delivery = post_webhook(
        settings.webhook_url,
        "\n".join(lines),
        attempts=settings.webhook_attempts,
        timeout=settings.webhook_timeout_seconds,
        backoff=backoff,
    )
    keys = [e.details["key"] for e in pending]
    if delivery.delivered:
        ledger.record(
            "alert_delivered",
            "webhook",
            f"{len(keys)} alert{'s' if len(keys) > 1 else ''} posted to the alert webhook",
            details={"keys": keys, "attempts": delivery.attempts, "status": delivery.status},
            at=at,
        )
    else:
        ledger.record(
            "alert_undelivered",
            "webhook",
            f"the alert webhook failed {delivery.attempts} times: {delivery.error}",
            details={"alerts": len(keys), "status": delivery.status, "keys": keys},
            at=at,
        )
    return delivery


def deliver_alerts(
    alerts: Sequence[Alert],
    ledger: Ledger,
    settings: MonitoringSettings,
    *,
    backoff: float = 0.5,
    at: datetime | None = None,
) -> WebhookDelivery | None:
    """``raise_alerts``, then ``post_alerts``: the alerts not raised at ``at`` yet become
    events, in one transaction, and every alert of ``at`` not delivered yet is posted in one
    message to the webhook, if one is configured (None otherwise, or when there is nothing
    to post). A failed post is an event.

    ``at`` is the time the events carry, and with their keys what identifies them: the
    project's clock at the pass (``run_monitor`` gives its window end), so that a re-run of
    the pass raises nothing twice and, on a replayed clock, alerts sort with what they
    judge; default: now (no two calls are then the same pass)."""
    at = as_utc(at) if at is not None else datetime.now(UTC)
    raise_alerts(alerts, ledger, at=at)
    return post_alerts(ledger, settings, at=at, backoff=backoff)
