"""Service health: a spool that grows, a job that is overdue, a service that stops answering.

Each check is a function of what it looks at (the spool folder, the jobs' last-run times,
each service's last prediction time) and the clock's now, returning ``Alert`` objects; the
``monitor`` job records and posts them like any other alert. A health alert, like a
threshold, is raised when it starts (``previous``: the subjects alerting at the last run).

Example::

    overdue_jobs({"predict": last_run}, {"predict": timedelta(minutes=30)}, now, factor=2.0)
    # [Alert(kind='health', subject='job:predict', name='overdue', ...)]
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path

from heliograph.core import as_utc

from ._alerts import Alert

__all__ = ["overdue_jobs", "silent_services", "spool_alerts", "spool_lines"]


def spool_lines(folder: Path) -> int:
    """Predictions waiting in the spool under ``folder`` (every process's segments)."""
    if not folder.is_dir():
        return 0
    total = 0
    for path in folder.rglob("segment-*.jsonl"):
        try:
            with path.open("rb") as handle:
                total += sum(
                    chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")
                )
        except OSError:  # a segment replayed and removed meanwhile
            continue
    return total


def spool_alerts(folder: Path, max_lines: int) -> list[Alert]:
    """An alert when more than ``max_lines`` predictions wait in the spool: the ledger has
    been unreachable (or refusing) for a while."""
    lines = spool_lines(folder)
    if lines <= max_lines:
        return []
    reason = (
        f"{lines} predictions are waiting in the spool ({folder}), more than {max_lines}: "
        "is the ledger database reachable?"
    )
    return [Alert("health", "spool", "spool_lines", float(lines), float(max_lines), reason)]


def overdue_jobs(
    last_runs: Mapping[str, datetime | None],
    intervals: Mapping[str, timedelta],
    now: datetime,
    *,
    factor: float = 2.0,
) -> list[Alert]:
    """An alert for each job of ``intervals`` whose last run (``last_runs``; None or absent:
    never) is older than ``factor`` times its interval."""
    alerts = []
    now = as_utc(now)
    for name, interval in intervals.items():
        last = last_runs.get(name)
        limit = interval * factor
        if last is None:
            continue  # never run: nothing is overdue until it has a first run
        age = now - as_utc(last)
        if age > limit:
            hours = age / timedelta(hours=1)
            reason = (
                f"job {name} last ran {hours:.1f} h ago ({as_utc(last):%Y-%m-%d %H:%M} UTC); "
                f"it runs every {interval / timedelta(hours=1):g} h"
            )
            alerts.append(
                Alert("health", f"job:{name}", "overdue", hours, limit / timedelta(hours=1), reason)
            )
    return alerts


def silent_services(
    last_predictions: Mapping[str, datetime],
    now: datetime,
    *,
    minutes: float,
    allowed: Mapping[str, float] | None = None,
) -> list[Alert]:
    """An alert for each service whose newest prediction is more than ``minutes`` old, or
    more than its own ``allowed[service]`` minutes (a service asked once a day, say)."""
    alerts = []
    for service, last in sorted(last_predictions.items()):
        limit = (allowed or {}).get(service, minutes)
        age = (as_utc(now) - as_utc(last)) / timedelta(minutes=1)
        if age > limit:
            reason = (
                f"service {service} recorded no prediction for {age:.0f} min "
                f"(since {as_utc(last):%Y-%m-%d %H:%M} UTC, it may be quiet for "
                f"{limit:g} min): is it answering?"
            )
            alerts.append(Alert("health", f"service:{service}", "silent", age, limit, reason))
    return alerts
