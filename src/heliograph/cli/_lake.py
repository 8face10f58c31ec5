"""``helio lake …``: datasets, partitions, queries, ingest by hand, snapshots."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ._main import app, console, project_of

__all__: list[str] = []

lake_app = typer.Typer(
    help="The data lake: datasets, partitions, snapshots, quarantine.", no_args_is_help=True
)
app.add_typer(lake_app, name="lake")


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
    limit: Annotated[
        int | None,
        typer.Option(min=0, help="Rows to print at most (default: 50 as a table, all as CSV)."),
    ] = None,
) -> None:
    """Run SQL (DuckDB) over the lake; each dataset is a view named after it."""
    from heliograph.lake import open_lake

    frame = open_lake(project_of(ctx)).query(sql)
    shown = frame if limit is None and csv else frame.head(50 if limit is None else limit)
    if csv:
        typer.echo(shown.to_csv(index=False), nl=False)
        return
    console.print(shown.to_string(index=False))
    if len(frame) > len(shown):
        console.print(f"… {len(frame) - len(shown)} more rows (--limit, or --csv for all)")


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
    """The snapshots taken, oldest first; "retracted" marks those training will not read."""
    from heliograph.lake import is_tainted, list_snapshots, open_lake

    lake = open_lake(project_of(ctx))
    if dataset:
        lake.dataset(dataset)
    table = Table("id", "created (UTC)", "rows", "partitions", "retracted")
    for s in list_snapshots(lake, dataset):
        retracted = "yes" if is_tainted(lake, s) else ""
        table.add_row(s.id, s.created_at[:19], f"{s.rows:,}", str(len(s.partitions)), retracted)
    console.print(table)


@lake_app.command("retract")
def lake_retract(
    ctx: typer.Context,
    target: Annotated[
        str,
        typer.Argument(
            metavar="SNAPSHOT",
            help="A snapshot id DATASET@HASH, or a partition DATASET/date=YYYY-MM-DD.",
        ),
    ],
    reason: Annotated[str, typer.Option(help="What is wrong with the data (recorded).")] = "",
    actor: Annotated[str | None, typer.Option(help="Who retracts (default: the OS user).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Mark data bad (snapshots stay immutable), record it, and list who used it.

    The next snapshot leaves the retracted partitions out, and training refuses a retracted
    snapshot: retraining after this trains without the data.
    """
    import json

    from heliograph.core import UsageError
    from heliograph.registry import retract_data

    from ._lineage import say, show_usage

    if not reason.strip():
        raise UsageError("a retraction needs a reason", field="--reason", rule="say what is wrong")
    project = project_of(ctx)
    retraction, usage = retract_data(project, target, reason=reason, actor=actor)
    models = sorted({v.model for v in usage.versions})
    if as_json:
        data = {"retracted": target, "partitions": list(retraction.partitions)}
        typer.echo(json.dumps({**data, "usage": usage.to_dict()}, default=str))
        return
    say(f"retracted {target}: {retraction.reason}")
    for p in retraction.partitions:
        say(f"  excluded from the next snapshots: {p}")
    show_usage(usage)
    if models:
        from heliograph.core import load_apps

        apps = [a.name for a in load_apps() if retraction.dataset in a.datasets and a.commands]
        command = " / ".join(f"helio train {a}" for a in apps) or "helio train APP"
        say(
            f"next: retrain {', '.join(models)} without it (`{command}`: training "
            "snapshots the data without the retracted partitions)"
        )
