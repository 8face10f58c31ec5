"""Jobs as declarations: a name, a sentence saying what it does, and the function that runs it.

A job is declared where its function is, and the declaration registers it in ``JOBS`` (the one
place ``helio job list`` and ``helio job run NAME`` look)::

    @job("snapshot", "record an immutable snapshot of every dataset")
    def snapshot(project: Project) -> list[Snapshot]:
        ...
    run_job(project, "snapshot")

Every job is idempotent and runs on the project's clock, by hand, from cron or a scheduler.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from heliograph.core import Project, UsageError

__all__ = ["JOBS", "Job", "job", "run_job"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Job:
    """A named, idempotent unit of recurring work: ``run(project)`` does it once."""

    name: str
    description: str
    run: Callable[[Project], Any]


JOBS: dict[str, Job] = {}
"""Every declared job by name, in the order declared."""


def job(name: str, description: str) -> Callable[[F], F]:
    """Declare the decorated function (called with the project) as job ``name``."""

    def register(fn: F) -> F:
        if name in JOBS and JOBS[name].run is not fn:
            raise TypeError(f"job {name!r} is declared twice")
        JOBS[name] = Job(name, description, fn)
        return fn

    return register


def run_job(project: Project, name: str) -> Any:
    """Run a job by name (`helio job run NAME`)."""
    if name not in JOBS:
        raise UsageError(f"unknown job {name!r}", field="job", rule="one of " + ", ".join(JOBS))
    return JOBS[name].run(project)
