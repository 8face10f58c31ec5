"""``helio check …``: run the declared checks again, read their results and quarantine."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markdown import Markdown

from heliograph.core import UsageError

from ._main import app, console, project_of

__all__: list[str] = []

check_app = typer.Typer(help="Data checks: run them, read their reports.", no_args_is_help=True)
app.add_typer(check_app, name="check")


@check_app.command("run")
def check_run(
    ctx: typer.Context, datasets: Annotated[list[str] | None, typer.Argument()] = None
) -> None:
    """Run every declared check over the visible data again. Exit 1 if any fails.

    Published data is reported on, not moved, so snapshots stay immutable."""
    from heliograph.jobs import check

    outcomes = check(project_of(ctx), datasets)
    for o in outcomes:
        console.print(
            f"{o.dataset}: {o.partitions} partitions checked, {len(o.failed)} failing"
            f", {len(o.warnings)} with warnings"
        )
        for kind, found in (("", o.failed), ("warning ", o.warnings)):
            for partition, results in sorted(found.items())[:10]:
                for r in results:
                    console.print(f"  {kind}{partition}: {r.summary()}")
            if len(found) > 10:
                console.print(f"  … and {len(found) - 10} more partitions")
        for r in o.dataset_checks:
            console.print(f"  {r.summary()}")
    if not all(o.ok for o in outcomes):
        raise typer.Exit(1)


@check_app.command("report")
def check_report(
    ctx: typer.Context,
    dataset: Annotated[str | None, typer.Argument()] = None,
    entry: Annotated[str | None, typer.Option("--id", help="Print one quarantine report.")] = None,
) -> None:
    """Check results per dataset and what is in quarantine, with the reasons.

    Each check's counts are of its newest verdict per partition (at ingest, or from the last
    `helio check run`); warnings are checks of severity warn that failed (the data is kept)."""
    from heliograph.lake import check_tally, open_lake

    lake = open_lake(project_of(ctx))
    if entry:
        found = [e for e in lake.quarantined() if e.id == entry]
        if not found:
            raise UsageError(
                f"no quarantined batch {entry!r}",
                field="--id",
                rule="an id listed by `helio check report`",
            )
        console.print(Markdown(found[0].report_path.read_text()))
        return
    names = [dataset] if dataset else lake.dataset_names()
    for name in names:
        lake.dataset(name)
        log = lake.check_log(name)
        quarantined = lake.quarantined(name)
        partitions = {e["partition"] for e in log if e["status"] != "quarantined"}
        console.print(
            f"[bold]{name}[/bold]: {len(partitions)} partitions judged, "
            f"{len(quarantined)} batches quarantined"
        )
        for label, counts in check_tally(log).items():
            console.print(f"  {label}: {counts.summary()}")
        for q in quarantined:
            console.print(f"  quarantined [bold]{q.id}[/bold] ({q.rows} rows from {q.origin})")
            console.print(f"    {q.reason}")
            console.print(f"    report: {q.report_path}")
