"""``helio job …``: the declared jobs, their schedules, last and next runs; one interval by hand.

``helio job run NAME [--at TIME]`` runs the scheduled interval that contains TIME (default:
the clock's now) once: the same interval again is "already done" unless ``--force``. That is
what lets cron, a Kubernetes CronJob or an orchestrator drive production instead of
``helio up``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from heliograph.core import UsageError, as_utc

from ._main import app, console, project_of

__all__: list[str] = []

job_app = typer.Typer(help="Named, idempotent units of recurring work.", no_args_is_help=True)
app.add_typer(job_app, name="job")


def parse_time(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 time from the command line, UTC unless it says otherwise."""
    if value is None:
        return None
    try:
        return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        raise UsageError(
            f"{option} {value!r} is not a time",
            field=option.lstrip("-"),
            rule="ISO 8601, e.g. 2025-06-01T10:00 (UTC unless an offset is given)",
        ) from None


def _when(value: datetime | None) -> str:
    return "-" if value is None else f"{value:%Y-%m-%d %H:%M}"


@job_app.command("list")
def job_list(ctx: typer.Context) -> None:
    """Each job: its schedule, last run (and how it ended) and next run, on the clock."""
    from heliograph.scheduler import job_statuses

    project = project_of(ctx)
    table = Table(
        "job", "schedule (UTC)", "catch-up", "last run", "status", "next run", "what it does"
    )
    for status in job_statuses(project):
        job, last = status.job, status.last
        next_run = _when(status.next_run) + (" (due)" if status.missed else "")
        table.add_row(
            job.name,
            job.schedule.cron if job.schedule else "by hand",
            str(job.catch_up) if job.schedule else "-",
            _when(last.scheduled_for if last else None),
            last.status.replace("_", " ") if last else "-",
            next_run if job.schedule else "-",
            job.description,
        )
    console.print(table)
    console.print(
        f"clock: {project.clock().describe()}; now {project.clock().now():%Y-%m-%d %H:%M} UTC"
    )


@job_app.command("run")
def job_run(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Job name (helio job list).")],
    at: Annotated[
        str | None,
        typer.Option(help="Run the scheduled interval containing this time (default: now)."),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Run the interval again even if it already succeeded.")
    ] = False,
) -> None:
    """Run one scheduled interval of a job, once (for cron, Kubernetes CronJobs or an
    orchestrator). Exit 1 if it failed, could not run, is running elsewhere, or its data
    needs a person."""
    from heliograph.jobs import JOBS
    from heliograph.scheduler import Scheduler

    outcome = Scheduler(project_of(ctx)).run_interval(name, parse_time(at, "--at"), force=force)
    declared = JOBS[outcome.job]
    for line in declared.lines(outcome.result):
        console.print(line)
    console.print(outcome.line())
    failed = outcome.status in ("retrying", "failed", "not_run", "held")
    if failed or declared.needs_a_person(outcome.result):
        if declared.needs_a_person(outcome.result):
            console.print("some data failed its checks (helio check report)")
        raise typer.Exit(1)
