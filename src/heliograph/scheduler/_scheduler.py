"""The scheduler: every declared job's schedule, on the project's clock, each interval once.

A run is keyed by (job, scheduled time) in the ledger and claimed there before its effect, so
any number of schedulers (processes, hosts) and hand runs share one ledger safely: each
interval runs in one of them. What is due at a moment, per job:

- the intervals since the job's newest recorded one, chosen by its catch-up policy: ``all``
  (oldest first, at most ``max_runs_per_tick`` per look: a long downtime is worked off, never
  refused), ``latest`` (only the newest), or a window (those of the last N hours); skipped
  intervals are named in one ``job_runs_skipped`` event;
- on a job's first look, only its newest interval (a schedule starts when it is first seen);
- failed runs whose retry is due, and runs whose process died (lease out, or on this host
  a process that is gone): these are taken over, with a ``job_run_taken_over`` event.

Jobs run one at a time, in the order their ``after=`` asks (then declared order), each job's
intervals oldest first.

Example::

    scheduler = Scheduler(project)
    [o.line() for o in scheduler.tick()]
    # ['ingest 2025-06-01 10:00 UTC succeeded: energy_prices: 48 rows in, ...', ...]
    scheduler.run_interval("ingest", at=datetime(2025, 6, 1, 9, tzinfo=UTC))
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice

from heliograph.core import Clock, ConfigError, Project, UsageError, as_utc, get_logger
from heliograph.jobs import JOBS, Job
from heliograph.ledger import JobRun, JobRuns, Ledger, LedgerError

from ._owner import new_owner, owner_is_dead
from ._runner import RunOutcome, execute

__all__ = ["Due", "Scheduler", "order_jobs"]

log = get_logger(__name__)


@dataclass(frozen=True)
class Due:
    """An interval to run now: new, a retry, or taken over from a process that died."""

    job: Job
    scheduled_for: datetime
    kind: str  # "new", "retry" or "abandoned"
    existing: JobRun | None = None


def order_jobs(jobs: Iterable[Job]) -> list[Job]:
    """``jobs`` with each after the jobs its ``after`` names (when present), else as declared."""
    pending = list(jobs)
    names = {j.name for j in pending}
    placed: list[Job] = []
    done: set[str] = set()
    while pending:
        for candidate in pending:
            if all(a in done or a not in names for a in candidate.after):
                break
        else:  # a cycle: keep the declared order for what is left
            candidate = pending[0]
        pending.remove(candidate)
        placed.append(candidate)
        done.add(candidate.name)
    return placed


class Scheduler:
    """Runs ``jobs`` (default: every declared job with a schedule) on the project's clock."""

    def __init__(
        self,
        project: Project,
        jobs: Sequence[str] | None = None,
        *,
        ledger: Ledger | None = None,
        clock: Clock | None = None,
        owner: str | None = None,
    ) -> None:
        for name in jobs or ():
            if name not in JOBS:
                raise UsageError(
                    f"unknown job {name!r}", field="job", rule="one of " + ", ".join(JOBS)
                )
        self.project = project
        self.jobs = order_jobs(
            JOBS[n] for n in (jobs or [n for n, j in JOBS.items() if j.schedule is not None])
        )
        self.ledger = ledger or Ledger(project.ledger_url)
        self.runs = JobRuns(self.ledger)
        self.clock = clock or project.clock()
        self.owner = owner or new_owner()
        settings = project.settings.scheduler
        self.lease = timedelta(seconds=settings.lease_seconds)
        self.poll_seconds = settings.poll_seconds
        self.max_runs = settings.max_runs_per_tick

    # --- what is due ---------------------------------------------------------------------

    def _abandoned(self, run: JobRun) -> bool:
        if run.owner == self.owner:
            return False
        expired = run.lease_expires is not None and run.lease_expires < datetime.now(
            run.lease_expires.tzinfo
        )
        return expired or owner_is_dead(run.owner)

    def due(self, now: datetime | None = None) -> list[Due]:
        """What should run at ``now`` (default: the clock's), in the order it will run."""
        now = as_utc(now or self.clock.now())
        found: list[Due] = []
        for job in self.jobs:
            for run in self.runs.unfinished(job.name):
                if run.status == "retrying" and run.retry_at is not None and run.retry_at <= now:
                    found.append(Due(job, run.scheduled_for, "retry", run))
                elif run.status == "running" and self._abandoned(run):
                    found.append(Due(job, run.scheduled_for, "abandoned", run))
            found.extend(Due(job, t, "new") for t in self._new_intervals(job, now))
        return found

    def _new_intervals(self, job: Job, now: datetime) -> list[datetime]:
        schedule = job.schedule
        if schedule is None:
            return []
        # A run by hand (a backfill, or ahead of the schedule) does not move the watermark:
        # the intervals before it are still the scheduler's, and it skips the one it finds.
        newest = self.runs.latest(job.name, trigger="schedule")
        if newest is None:
            return [schedule.latest(now)]
        mark = newest.scheduled_for
        if job.catch_up == "all":
            return list(islice(schedule.between(mark, now), self.max_runs))
        if job.catch_up == "latest":
            last = schedule.latest(now)
            return [last] if last > mark else []
        start = max(mark, now - job.catch_up)
        return list(islice(schedule.between(start, now), self.max_runs))

    def _record_skipped(self, job: Job, before: datetime, kept: datetime) -> None:
        """One event naming the intervals the catch-up policy left out, if there were any."""
        assert job.schedule is not None
        first = job.schedule.next_after(before)
        if first >= kept:
            return
        self.ledger.record(
            "job_runs_skipped",
            f"{job.name}@{first.isoformat()}",
            f"missed runs of {job.name} from {first:%Y-%m-%d %H:%M} UTC to before "
            f"{kept:%Y-%m-%d %H:%M} UTC were skipped: its catch-up policy runs "
            f"{job.describe_catch_up()}",
            details={"job": job.name, "first": first, "until": kept, "policy": str(job.catch_up)},
        )

    # --- running -------------------------------------------------------------------------

    def _claim(self, due: Due, trigger: str) -> JobRun | None:
        if due.existing is None:
            return self.runs.claim(
                due.job.name, due.scheduled_for, owner=self.owner, lease=self.lease, trigger=trigger
            )
        run = self.runs.take_over(due.existing, owner=self.owner, lease=self.lease, trigger=trigger)
        if run is not None and due.kind == "abandoned":
            self.ledger.record(
                "job_run_taken_over",
                f"{due.job.name}@{due.scheduled_for.isoformat()}",
                f"the run held by {due.existing.owner} stopped without finishing; "
                f"attempt {run.attempt} runs in {self.owner}",
                details={"job": due.job.name, "from": due.existing.owner, "to": self.owner},
            )
        return run

    def tick(
        self,
        now: datetime | None = None,
        *,
        stop: threading.Event | None = None,
        report: Callable[[RunOutcome], None] | None = None,
    ) -> list[RunOutcome]:
        """Claim and run everything due at ``now``; what another process holds is left to it."""
        now = as_utc(now or self.clock.now())
        outcomes = []
        first_new: dict[str, datetime] = {}
        for due in self.due(now):
            if stop is not None and stop.is_set():
                break
            run = self._claim(due, "schedule")
            if run is None:
                continue
            if due.kind == "new" and due.job.name not in first_new:
                first_new[due.job.name] = due.scheduled_for
                self._maybe_record_skipped(due, run)
            outcome = execute(self.project, due.job, run, self.runs, lease=self.lease, now=now)
            outcomes.append(outcome)
            if report is not None:
                report(outcome)
        return outcomes

    def _maybe_record_skipped(self, due: Due, run: JobRun) -> None:
        if due.job.catch_up == "all":
            return
        previous = [r for r in self.runs.runs(due.job.name, limit=2) if r != run]
        earlier = [r for r in previous if r.scheduled_for < due.scheduled_for]
        if earlier:
            self._record_skipped(due.job, earlier[0].scheduled_for, due.scheduled_for)

    def run_interval(
        self, name: str, at: datetime | None = None, *, force: bool = False
    ) -> RunOutcome:
        """Run one interval of job ``name`` by hand: the one containing ``at`` (default: now).

        Idempotent: an interval that already succeeded (or said it cannot run) is not run
        again unless ``force``; a failed one is. A job without a schedule is keyed by ``at``
        to the second. A wrong configuration is recorded, then raised (the caller's error).
        """
        if name not in JOBS:
            raise UsageError(f"unknown job {name!r}", field="job", rule="one of " + ", ".join(JOBS))
        job = JOBS[name]
        now = as_utc(self.clock.now())
        at = as_utc(at) if at is not None else now
        if at > now:
            raise UsageError(
                f"--at {at:%Y-%m-%d %H:%M:%S} UTC is after the clock's now "
                f"({now:%Y-%m-%d %H:%M:%S} UTC)",
                field="at",
                rule="a time at or before the project's clock",
            )
        scheduled_for = job.schedule.latest(at) if job.schedule else at.replace(microsecond=0)
        run = self.runs.claim(
            name, scheduled_for, owner=self.owner, lease=self.lease, trigger="hand"
        )
        if run is None:
            existing = self.runs.get(name, scheduled_for)
            if existing is None:  # deleted in between: claim again
                return self.run_interval(name, at, force=force)
            if existing.status == "running" and not self._abandoned(existing):
                return RunOutcome(
                    name, scheduled_for, "held", existing.attempt, f"running in {existing.owner}"
                )
            if existing.status in ("succeeded", "not_run") and not force:
                return RunOutcome(
                    name,
                    scheduled_for,
                    "already_done",
                    existing.attempt,
                    f"{existing.status.replace('_', ' ')} before ({existing.summary}); "
                    "--force runs it again",
                )
            run = self.runs.take_over(existing, owner=self.owner, lease=self.lease, trigger="hand")
            if run is None:
                return RunOutcome(name, scheduled_for, "held", existing.attempt, "taken meanwhile")
        outcome = execute(self.project, job, run, self.runs, lease=self.lease, now=now)
        if isinstance(outcome.error, ConfigError | UsageError):
            raise outcome.error  # by hand, a wrong configuration is the command's error
        return outcome

    def _backoff(self, outage: int) -> float:
        return float(min(self.poll_seconds * 2**outage, 30.0))

    def wait_seconds(self, now: datetime | None = None) -> float:
        """Wall-clock seconds until something may be due (at most ``poll_seconds``)."""
        now = as_utc(now or self.clock.now())
        upcoming = [j.schedule.next_after(now) for j in self.jobs if j.schedule is not None]
        if not upcoming:
            return self.poll_seconds
        speed = float(getattr(self.clock, "speed", 1.0))
        ahead = (min(upcoming) - now).total_seconds() / speed
        return max(0.0, min(self.poll_seconds, ahead))

    def run(
        self,
        stop: threading.Event,
        *,
        until: datetime | None = None,
        seconds: float | None = None,
        report: Callable[[RunOutcome], None] | None = None,
    ) -> None:
        """Tick until ``stop`` is set, the clock passes ``until``, or ``seconds`` (wall) pass.

        A ledger that cannot be reached is waited for (a warning, then looks further apart,
        up to 30 s): nothing is claimed, so nothing runs twice or is lost meanwhile."""
        deadline = None if seconds is None else time.monotonic() + seconds
        outage = 0  # looks in a row that could not reach the ledger
        while not stop.is_set():
            now = as_utc(self.clock.now())
            if until is not None and now > until:
                return
            try:
                self.tick(min(now, until) if until else now, stop=stop, report=report)
                outage = 0
            except LedgerError as exc:  # the ledger is away: nothing can be claimed; wait
                outage += 1
                log.warning("%s; looking again in %g s", exc.headline, self._backoff(outage))
            if deadline is not None and time.monotonic() >= deadline:
                return
            wait = self._backoff(outage) if outage else self.wait_seconds()
            if deadline is not None:
                wait = min(wait, max(0.0, deadline - time.monotonic()))
            stop.wait(max(wait, 0.01))
