"""``helio report data``: the HTML data report of a dataset's newest partition."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._main import app, console, project_of

__all__: list[str] = []

report_app = typer.Typer(help="Reports people read.", no_args_is_help=True)
app.add_typer(report_app, name="report")


@report_app.command("data")
def report_data(
    ctx: typer.Context,
    dataset: str,
    out: Annotated[Path | None, typer.Option(help="Folder for the report.")] = None,
    history_days: Annotated[int, typer.Option(min=1, help="Days of history to compare with.")] = 28,
) -> None:
    """Write an HTML report of a dataset's newest partition against recent history."""
    from heliograph.jobs import report
    from heliograph.lake import open_lake

    project = project_of(ctx)
    open_lake(project).dataset(dataset)
    for path in report(project, [dataset], history_days=history_days, out_dir=out):
        console.print(f"wrote {path}")
