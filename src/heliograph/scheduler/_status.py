"""Each job's state, as ``helio job list`` and ``helio status`` show it: its schedule, its last
run and its next.

Example::

    [s.to_dict()["next_run"] for s in job_statuses(project)]
    # ['2025-06-01T11:00:00+00:00', ...]
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from heliograph.core import Clock, Project, as_utc
from heliograph.jobs import JOBS, Job
from heliograph.ledger import JobRun, JobRuns, Ledger

__all__ = ["JobStatus", "job_statuses"]


@dataclass(frozen=True)
class JobStatus:
    """A job, its last finished run, its newest interval and when it runs next."""

    job: Job
    last: JobRun | None  # the most recently finished run
    newest: JobRun | None  # the run with the newest scheduled time (maybe still running)
    next_run: datetime | None  # None: by hand only
    missed: bool  # the next run is already due (the scheduler is behind, or stopped)

    def to_dict(self) -> dict[str, Any]:
        schedule = self.job.schedule
        return {
            "job": self.job.name,
            "description": self.job.description,
            "schedule": schedule.cron if schedule else None,
            "catch_up": str(self.job.catch_up),
            "retries": self.job.retries,
            "last_run": self.last.to_dict() if self.last else None,
            "newest_run": self.newest.to_dict() if self.newest else None,
            "next_run": self.next_run.isoformat() if self.next_run else None,
            "due": self.missed,
        }


def job_statuses(
    project: Project, *, ledger: Ledger | None = None, clock: Clock | None = None
) -> list[JobStatus]:
    """Every declared job's state on the ledger, at the clock's now."""
    runs = JobRuns(ledger or Ledger(project.ledger_url))
    now = as_utc((clock or project.clock()).now())
    found = []
    for job in JOBS.values():
        newest = runs.latest(job.name)
        last = runs.last_finished(job.name)
        next_run = None
        if job.schedule is not None:  # after the scheduler's watermark, as it will run
            mark = runs.latest(job.name, trigger="schedule")
            next_run = (
                job.schedule.next_after(mark.scheduled_for) if mark else job.schedule.latest(now)
            )
        found.append(
            JobStatus(job, last, newest, next_run, next_run is not None and next_run <= now)
        )
    return found
