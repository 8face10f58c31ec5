"""The ``monitor`` job: live metrics, drift and alerts of every service (``monitoring``).

Example::

    run_job(project, "monitor")
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

import pandas as pd

from heliograph.core import Project, app_services, as_utc, load_apps
from heliograph.ledger import JobRuns, Ledger
from heliograph.monitoring import MonitorOutcome, app_business_metrics, run_monitor
from heliograph.monitoring import training_reference as reference_of
from heliograph.registry import Registry

from ._job import JOBS, job

__all__ = ["job_health", "monitor"]

_DONE = ("succeeded", "not_run")  # a run that ended as the job meant (a failure is not one)


def job_health(
    ledger_url: str, now: datetime
) -> tuple[dict[str, datetime | None], dict[str, timedelta]]:
    """Each scheduled job's last finished interval (from the ledger's ``job_runs``) and its
    interval at ``now``: what ``overdue_jobs`` needs. A job running now (a run whose claim
    is held: its lease not run out) counts as having run at ``now``: a long retrain is
    busy, not overdue; a run whose process died loses its lease and is overdue again."""
    runs = JobRuns(Ledger(ledger_url))
    last: dict[str, datetime | None] = {}
    intervals: dict[str, timedelta] = {}
    wall = datetime.now(UTC)
    for name, declared in JOBS.items():
        if declared.schedule is None:
            continue
        latest = declared.schedule.latest(now)
        intervals[name] = declared.schedule.next_after(latest) - latest
        recent = runs.runs(name, limit=200)
        done = [r for r in recent if r.status in _DONE]
        last[name] = done[0].scheduled_for if done else None
        if any(
            r.status == "running" and r.lease_expires and as_utc(r.lease_expires) > wall
            for r in recent
        ):
            last[name] = now
    return last, intervals


@job(
    "monitor",
    "live metrics per model version and window, drift against training, alerts",
    schedule="0 * * * *",
    catch_up="latest",  # a pass judges the windows ending now: older passes add nothing
    retries=2,
    after=("ingest", "actuals"),
)
def monitor(project: Project) -> MonitorOutcome:
    """One monitoring pass at the clock's now, with the apps' business metrics and watched
    features, each version's training reference from the registry and the jobs' last runs."""
    registries: list[Registry] = []  # opened only when a version is looked up

    @cache
    def references(name: str, version: str) -> pd.DataFrame | None:
        if not registries:
            registries.append(Registry(project))
        return reference_of(registries[0], name, version)

    now = project.clock().now()
    last_runs, intervals = job_health(project.ledger_url, now)
    apps = load_apps()
    watched = {s: tuple(p) for app in apps for s, p in app.watched_features.items()}
    silence = {s.name: s.max_silence for s in app_services(apps) if s.max_silence is not None}
    return run_monitor(
        project.ledger_url,
        now=now,
        settings=project.settings.monitoring,
        references=references,
        business=app_business_metrics(apps),
        watched=watched,
        silence=silence,
        spool=project.state_dir / "spool",
        job_last_runs=last_runs,
        job_intervals=intervals,
    )
