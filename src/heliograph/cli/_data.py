"""``helio lake …``, ``helio check …`` and ``helio report data``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markdown import Markdown
from rich.table import Table

from heliograph.core import UsageError

from ._main import app, console, project_of

__all__: list[str] = []

lake_app = typer.Typer(
    help="The data lake: datasets, partitions, snapshots, quarantine.", no_args_is_help=True
)
app.add_typer(lake_app, name="lake")
check_app = typer.Typer(help="Data checks: run them, read their reports.", no_args_is_help=True)
app.add_typer(check_app, name="check")
report_app = typer.Typer(help="Reports people read.", no_args_is_help=True)
app.add_typer(report_app, name="report")


def _fail_if_quarantined(outcome: object) -> None:
    if not getattr(outcome, "ok", True):
        console.print("some data failed its checks: see `helio check report`")
        raise typer.Exit(1)


@lake_app.command("ls")
def lake_ls(ctx: typer.Context) -> None:
    """The datasets, with partitions, rows and size."""
    from heliograph.lake import open_lake

    lake = open_lake(project_of(ctx))
    table = Table("dataset", "partitions", "rows", "MB", "first", "newest")
    for name in lake.dataset_names():
        parts = lake.partitions(name)
        table.add_row(
            name,
            str(len(parts)),
            f"{sum(p.rows for p in parts):,}",
            f"{sum(p.bytes for p in parts) / 1e6:.2f}",
            parts[0].date if parts else "-",
            parts[-1].date if parts else "-",
        )
    console.print(table)


@lake_app.command("show")
def lake_show(
    ctx: typer.Context,
    dataset: str,
    rows: Annotated[int, typer.Option(help="Sample rows to print.")] = 5,
) -> None:
    """A dataset's columns, key, checks, newest partitions and sample rows."""
    from heliograph.lake import list_snapshots, open_lake

    lake = open_lake(project_of(ctx))
    ds = lake.dataset(dataset)
    console.print(
        f"[bold]{dataset}[/bold]  key ({', '.join(ds.key)}), partitioned by the date "
        f"of {ds.time_column}"
    )
    for column, kind in ds.columns.items():
        console.print(f"  {column}: {kind}")
    for c in ds.checks:
        console.print(f"  check {c.label()}")
    parts = lake.partitions(dataset)
    console.print(
        f"{len(parts)} partitions, {sum(p.rows for p in parts):,} rows; "
        f"{len(lake.quarantined(dataset))} quarantined; "
        f"{len(list_snapshots(lake, dataset))} snapshots"
    )
    for p in parts[-3:]:
        console.print(f"  date={p.date}: {p.rows} rows in {len(p.files)} files")
    if parts and rows:
        console.print(
            lake.query(
                f'SELECT * FROM "{dataset}" ORDER BY "{ds.time_column}" DESC LIMIT {int(rows)}'
            ).to_string(index=False)
        )


@lake_app.command("query")
def lake_query(
    ctx: typer.Context,
    sql: str,
    csv: Annotated[bool, typer.Option(help="Print CSV.")] = False,
    limit: Annotated[int, typer.Option(help="Rows to print at most.")] = 50,
) -> None:
    """Run SQL (DuckDB) over the lake; each dataset is a view named after it."""
    from heliograph.lake import open_lake

    frame = open_lake(project_of(ctx)).query(sql)
    if csv:
        typer.echo(frame.to_csv(index=False), nl=False)
        return
    console.print(frame.head(limit).to_string(index=False))
    if len(frame) > limit:
        console.print(f"… {len(frame) - limit} more rows (--limit, or --csv for all)")


@lake_app.command("ingest")
def lake_ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Files to ingest.")],
    dataset: Annotated[str | None, typer.Option(help="Dataset (needed for csv, parquet).")] = None,
    format: Annotated[
        str, typer.Option("--format", help="csv, parquet, or a plugin format such as epf.")
    ] = "csv",
) -> None:
    """Ingest files by hand; every new partition is checked. Exit 1 if any was quarantined."""
    from heliograph.jobs import ingest_file

    outcome = ingest_file(project_of(ctx), paths, format=format, dataset=dataset)
    console.print(outcome.summary())
    _fail_if_quarantined(outcome)


@lake_app.command("snapshot")
def lake_snapshot(ctx: typer.Context, dataset: str) -> None:
    """Record an immutable snapshot of a dataset and print its id."""
    from heliograph.jobs import snapshot

    snap = snapshot(project_of(ctx), [dataset])[0]
    console.print(snap.id)
    console.print(
        f"{snap.rows:,} rows in {len(snap.partitions)} partitions, {len(snap.files)} files"
    )


@lake_app.command("snapshots")
def lake_snapshots(
    ctx: typer.Context, dataset: Annotated[str | None, typer.Argument()] = None
) -> None:
    """The snapshots taken, oldest first."""
    from heliograph.lake import list_snapshots, open_lake

    lake = open_lake(project_of(ctx))
    if dataset:
        lake.dataset(dataset)
    table = Table("id", "created (UTC)", "rows", "partitions")
    for s in list_snapshots(lake, dataset):
        table.add_row(s.id, s.created_at[:19], f"{s.rows:,}", str(len(s.partitions)))
    console.print(table)


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
    """Check results per dataset and what is in quarantine, with the reasons."""
    from heliograph.lake import open_lake

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
        passed = sum(1 for e in log if e["status"] == "passed")
        console.print(
            f"[bold]{name}[/bold]: {passed} partition batches passed, "
            f"{len(log) - passed} quarantined"
        )
        tally: dict[str, list[int]] = {}
        for e in log:
            for r in e["results"]:
                counts = tally.setdefault(r["check"], [0, 0])
                counts[0 if r["success"] else 1] += 1
        for label, (ok, bad) in tally.items():
            console.print(f"  {label}: {ok} passed, {bad} failed")
        for q in lake.quarantined(name):
            console.print(f"  quarantined [bold]{q.id}[/bold] ({q.rows} rows from {q.origin})")
            console.print(f"    {q.reason}")
            console.print(f"    report: {q.report_path}")


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
