"""``helio lineage ID``: a prediction back to its data and code; data forward to its users.

Also the printing of who used some data, shared with ``helio lake retract``.
"""

from __future__ import annotations

import json
import textwrap
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from ._main import app, console, project_of

if TYPE_CHECKING:
    from heliograph.registry import DataUsage, PredictionLineage, VersionLineage

__all__: list[str] = []

_ENV_SHOWN = ("heliograph", "mlflow", "numpy", "pandas", "scikit-learn", "lightgbm")


def say(text: str) -> None:
    """Print ``text`` wrapped at 80 columns, continued lines indented under their first."""
    indent = " " * (len(text) - len(text.lstrip()) + 2)
    wrapped = textwrap.fill(
        text, 80, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
    )
    console.print(escape(wrapped), soft_wrap=True)


def _version_lines(v: VersionLineage, indent: str = "  ") -> None:
    roles = f" ({', '.join(v.aliases)})" if v.aliases else ""
    say(f"{indent}model      {v.model} v{v.version}{roles}")
    say(f"{indent}run        {v.run_id}")
    if v.registered_at is not None:
        say(f"{indent}registered {v.registered_at:%Y-%m-%d %H:%M:%S} UTC")
    dirty = " (uncommitted changes)" if v.dirty else ""
    say(f"{indent}commit     {v.commit}{dirty}")
    if v.feature_view:
        say(f"{indent}features   {v.feature_view}")
    passed = {True: "passed", False: "FAILED", None: "unknown"}[v.checks_passed]
    say(f"{indent}checks     {passed}")
    env = ", ".join(f"{k} {v.environment[k]}" for k in _ENV_SHOWN if k in v.environment)
    if env:
        say(f"{indent}environment {env}")


def _show_prediction(found: PredictionLineage) -> None:
    p = found.prediction
    say(f"prediction {p['record_id']} (request {p['request_id']})")
    at = str(p["at"])[:19].replace("T", " ")
    say(f"  service    {p['service']} as {p['role']}, at {at} UTC")
    if found.version is None:
        say("  model version: its lineage is in neither the ledger nor the tracking store")
        return
    _version_lines(found.version)
    say(f"  the version made {found.version.predictions:,} predictions")
    say(f"snapshots read ({len(found.snapshots)}):")
    for s in found.snapshots:
        rows = f"{s.rows:,} rows" if s.rows is not None else "manifest not in this lake"
        span = f", {s.partitions[0][5:]}..{s.partitions[-1][5:]}" if s.partitions else ""
        say(f"  {s.id}: {rows} in {len(s.partitions)} partitions{span}")
        failed = s.checks.get("failed") or {}
        checks = s.checks.get("checks") or []
        if checks:
            verdict = "failed " + json.dumps(failed) if failed else "passed"
            say(f"    {len(checks)} checks {verdict}")
        for why in s.retracted:
            say(f"    RETRACTED: {why}")
    if found.version.source == "mlflow":
        say("(lineage read from the tracking store: the ledger's registration kept none)")


def show_usage(usage: DataUsage) -> None:
    """Who used some data, in lines that fit 80 columns."""
    say(f"{usage.target}: in {len(usage.snapshots)} snapshot(s)")
    for s in usage.snapshots:
        say(f"  {s}")
    more = "" if usage.complete else " (registered ones; the tracking store was not read)"
    say(f"runs that read it: {len(usage.runs)}{more}")
    for r in usage.runs:
        say(f"  {r}")
    say(f"versions trained on it: {len(usage.versions)}")
    for v in usage.versions:
        roles = f", holds {', '.join(v.aliases)}" if v.aliases else ""
        say(f"  {v.model} v{v.version}{roles}: {v.predictions:,} predictions")
    say(f"predictions by those versions: {usage.predictions:,}")


@app.command("lineage")
def lineage_command(
    ctx: typer.Context,
    ident: Annotated[
        str,
        typer.Argument(
            metavar="ID",
            help="A prediction's record or request id, a snapshot id DATASET@HASH, "
            "or a partition DATASET/date=YYYY-MM-DD.",
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ledger_only: Annotated[
        bool,
        typer.Option(
            "--ledger-only", help="Read the ledger and the lake only, not the tracking store."
        ),
    ] = False,
) -> None:
    """A prediction's model version, run, snapshots, checks, commit and environment; or
    every run, version and prediction that used a snapshot or partition."""
    from heliograph.registry import DataUsage, lineage

    found = lineage(project_of(ctx), ident, mlflow=not ledger_only)
    if as_json:
        typer.echo(json.dumps(found.to_dict(), default=str))
    elif isinstance(found, DataUsage):
        show_usage(found)
    else:
        _show_prediction(found)
