"""Running one claimed interval: the job on a clock fixed at its scheduled time, the lease kept
alive while it runs, and the outcome recorded, with an event for anything that needs a person.

A failure is an event (``job_failed``) with the error's one-line headline, never a traceback,
and a retry at the project's clock time ``now + backoff``; a job that raises ``CannotRun``
leaves a ``job_not_run`` event with its reason. An interrupt (the second Ctrl-C) hands the
interval back as due at once, so the next start runs it.

Example::

    outcome = execute(project, JOBS["ingest"], run, runs, lease=timedelta(seconds=60))
    outcome.status
    # 'succeeded'
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from heliograph.core import ConfigError, FixedClock, HelioError, Project, UsageError, get_logger
from heliograph.jobs import CannotRun, Job
from heliograph.ledger import JobRun, JobRuns

__all__ = ["RunOutcome", "describe_result", "execute"]

log = get_logger(__name__)


@dataclass(frozen=True)
class RunOutcome:
    """What became of one interval: ``succeeded``, ``retrying``, ``failed``, ``not_run``, or,
    when this process did not run it, ``already_done`` or ``held`` (by another process)."""

    job: str
    scheduled_for: datetime
    status: str
    attempt: int = 0
    summary: str = ""
    result: Any = None
    retry_at: datetime | None = None
    error: BaseException | None = None  # what failed it, if anything

    @property
    def ran(self) -> bool:
        return self.status in ("succeeded", "retrying", "failed", "not_run")

    def line(self) -> str:
        """One line for people: ``ingest 2025-06-01 10:00 UTC succeeded: …``."""
        head = f"{self.job} {self.scheduled_for:%Y-%m-%d %H:%M} UTC {self.status.replace('_', ' ')}"
        return f"{head}: {self.summary}" if self.summary else head


def describe_result(result: Any) -> str:
    """A job's result in one short line, for the ledger's summary."""
    summary = getattr(result, "summary", None)
    if callable(summary):
        text = str(summary())
    elif isinstance(result, Sequence) and not isinstance(result, str):
        text = f"{len(result)} done" if result else "nothing to do"
    elif result is None:
        text = "done"
    else:
        text = str(result)
    text = " ".join(text.split())
    return text if len(text) <= 500 else text[:497] + "..."


# A wrong configuration or input does not mend by waiting: no retries.
_LASTING = (ConfigError, UsageError)


def _headline(exc: BaseException) -> str:
    if isinstance(exc, HelioError):  # with the file, field and rule it names
        return " ".join(exc.describe().split())
    return f"{type(exc).__name__}: {exc}"


def _keep_alive(runs: JobRuns, run: JobRun, lease: timedelta, done: threading.Event) -> None:
    while not done.wait(lease.total_seconds() / 3):
        try:
            if not runs.renew(run, lease):
                log.warning("%s %s: the run was taken over", run.job, run.scheduled_for)
                return
        except HelioError as exc:  # the ledger is away for a moment: try again next time
            log.warning("cannot renew the lease of %s: %s", run.job, exc.headline)


def execute(
    project: Project,
    job: Job,
    run: JobRun,
    runs: JobRuns,
    *,
    lease: timedelta,
    now: datetime,
) -> RunOutcome:
    """Run ``job`` for the interval ``run`` (claimed by this process) and record the outcome;
    ``now`` is the project's clock at the start (for the time of a retry)."""
    ledger = runs.ledger
    at = Project(project.root, project.settings, project.config_path)
    at.with_clock(FixedClock(run.scheduled_for))
    subject = f"{job.name}@{run.scheduled_for.isoformat()}"
    done = threading.Event()
    beat = threading.Thread(target=_keep_alive, args=(runs, run, lease, done), daemon=True)
    beat.start()
    try:
        result = job.run(at)
    except CannotRun as exc:
        done.set()
        runs.finish(run, "not_run", summary=exc.headline)
        ledger.record(
            "job_not_run",
            subject,
            exc.headline,
            details={"job": job.name, "scheduled_for": run.scheduled_for, "owner": run.owner},
        )
        return RunOutcome(job.name, run.scheduled_for, "not_run", run.attempt, exc.headline)
    except KeyboardInterrupt:  # stopped by a person: due again at once, for the next start
        done.set()
        runs.finish(run, "retrying", summary="interrupted by a stop", retry_at=now)
        raise
    except Exception as exc:
        done.set()
        reason = _headline(exc)
        log.debug("job %s failed", job.name, exc_info=True)
        left = 0 if isinstance(exc, _LASTING) else job.retries + 1 - run.attempt
        retry_at = now + job.retry_delay(run.attempt) if left > 0 else None
        status = "retrying" if retry_at else "failed"
        runs.finish(run, status, summary=reason, retry_at=retry_at)
        then = (
            f"tried again at {retry_at:%Y-%m-%d %H:%M:%S} UTC ({left} retries left)"
            if retry_at
            else "not retried: fix the configuration or input"
            if isinstance(exc, _LASTING)
            else f"gave up after {run.attempt} attempts"
        )
        ledger.record(
            "job_failed",
            subject,
            f"attempt {run.attempt} failed: {reason}; {then}",
            details={
                "job": job.name,
                "scheduled_for": run.scheduled_for,
                "attempt": run.attempt,
                "error": type(exc).__name__,
                "retry_at": retry_at,
                "owner": run.owner,
            },
        )
        return RunOutcome(
            job.name, run.scheduled_for, status, run.attempt, reason, None, retry_at, exc
        )
    done.set()
    summary = describe_result(result)
    if not runs.finish(run, "succeeded", summary=summary):
        log.warning("%s: the run's lease was lost before it finished", subject)
    return RunOutcome(job.name, run.scheduled_for, "succeeded", run.attempt, summary, result)
