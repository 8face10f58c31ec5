"""Jobs as declarations: a name, what it does, when it runs, and the function that does it.

A job is declared where its function is, and the declaration registers it in ``JOBS`` (the one
place the scheduler, ``helio job list`` and ``helio job run NAME`` look)::

    @job(
        "predict",
        "each service's scheduled question, champion and challenger",
        schedule="*/30 * * * *",      # cron, UTC
        catch_up="6h",                # after downtime: the missed runs of the last 6 hours
        retries=3,                    # a failing run is tried again 30 s, 60 s, 120 s later
        after=("materialize",),       # when both are due, this one runs second
    )
    def predict(project: Project) -> PredictOutcome:
        now = project.clock().now()   # the run's scheduled time, whenever it really runs
        ...

What a run's result says is the job's too: by default a result (or each item of a list) that
has ``summary()`` is read by it, and one whose ``ok`` is false needs a person (``helio job run``
exits 1); a job whose result has neither declares ``lines=`` (and ``attention=``).

Each run is one scheduled interval, keyed by (job, scheduled time) in the ledger
(``heliograph.scheduler``): the function sees a project whose clock is fixed at that time, so
a run caught up late, or run by hand with ``--at``, computes what it would have computed on
time. A job that cannot run (no champion yet, a failed check) raises ``CannotRun`` with the
reason; any other exception is a failure, retried with backoff. Every job is idempotent: a run
interrupted by a crash is run again, so what it writes is keyed by its scheduled time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, TypeVar

from heliograph.core import HelioError, Project, UsageError

from ._schedule import CatchUp, Schedule, parse_catch_up

__all__ = ["JOBS", "CannotRun", "Job", "job", "run_job"]

F = TypeVar("F", bound=Callable[..., Any])


class CannotRun(HelioError):
    """A job cannot run now, and says why (``raise CannotRun("no champion yet for …")``).

    The interval is recorded as not run, with the reason as an event; it is not retried.
    """


@dataclass(frozen=True)
class Job:
    """A named, idempotent unit of recurring work: ``run(project)`` does one interval of it."""

    name: str
    description: str
    run: Callable[[Project], Any]
    schedule: Schedule | None = None
    catch_up: CatchUp = "latest"
    retries: int = 0
    backoff: timedelta = timedelta(seconds=30)
    max_backoff: timedelta = timedelta(hours=1)
    after: tuple[str, ...] = ()
    describe: Callable[[Any], list[str]] | None = None
    attention: Callable[[Any], bool] | None = None

    def lines(self, result: Any) -> list[str]:
        """What ``result`` (a run's return value) says, for people, a line each."""
        if self.describe is not None:
            return self.describe(result)
        return [line for item in _items(result) for line in _summary(item)]

    def needs_a_person(self, result: Any) -> bool:
        """Done, but something needs a person (quarantined data, a failed check): exit 1."""
        if self.attention is not None:
            return self.attention(result)
        return any(getattr(item, "ok", True) is False for item in _items(result))

    def retry_delay(self, attempt: int) -> timedelta:
        """How long to wait after failed attempt ``attempt`` (1, 2, …): doubling, capped."""
        return min(self.backoff * 2 ** (attempt - 1), self.max_backoff)

    def describe_catch_up(self) -> str:
        if isinstance(self.catch_up, timedelta):
            hours = self.catch_up.total_seconds() / 3600
            return f"missed runs of the last {hours:g} h"
        return {"all": "every missed run", "latest": "the latest missed run"}[self.catch_up]


def _items(result: Any) -> list[Any]:
    if result is None:
        return []
    return list(result) if isinstance(result, list | tuple) else [result]


def _summary(item: Any) -> list[str]:
    summary = getattr(item, "summary", None)
    if callable(summary):
        return str(summary()).splitlines()
    return [str(getattr(item, "id", item))]


JOBS: dict[str, Job] = {}
"""Every declared job by name, in the order declared."""


def job(
    name: str,
    description: str,
    *,
    schedule: str | None = None,
    catch_up: str | timedelta = "latest",
    retries: int = 0,
    backoff: timedelta = timedelta(seconds=30),
    after: Sequence[str] = (),
    lines: Callable[[Any], list[str]] | None = None,
    attention: Callable[[Any], bool] | None = None,
) -> Callable[[F], F]:
    """Declare the decorated function (called with the project) as job ``name``.

    ``schedule`` is a cron expression in UTC (none: the job runs only by hand); ``catch_up``
    says what runs after downtime (``"all"``, ``"latest"`` or a window such as ``"6h"``);
    ``retries`` failed attempts are tried again after ``backoff``, doubling each time;
    ``lines`` and ``attention`` say how a result reads when it has no ``summary()`` / ``ok``.
    """
    if retries < 0:
        raise UsageError("retries must be >= 0", field="retries", rule=">= 0")
    declared = Job(
        name,
        description,
        lambda project: None,
        Schedule(schedule) if schedule else None,
        parse_catch_up(catch_up),
        retries,
        backoff,
        after=tuple(after),
        describe=lines,
        attention=attention,
    )

    def register(fn: F) -> F:
        if name in JOBS and JOBS[name].run is not fn:
            raise TypeError(f"job {name!r} is declared twice")
        JOBS[name] = replace(declared, run=fn)
        return fn

    return register


def run_job(project: Project, name: str) -> Any:
    """Run a job's function once, now, outside the ledger's run keys (tests, notebooks).

    ``helio job run NAME`` goes through the scheduler instead, so that a run by hand is one
    scheduled interval, recorded once.
    """
    if name not in JOBS:
        raise UsageError(f"unknown job {name!r}", field="job", rule="one of " + ", ".join(JOBS))
    return JOBS[name].run(project)
