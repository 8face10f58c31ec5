"""``helio simulate``: an operational backtest of retraining and promotion policies."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from heliograph.core import UsageError

from ._main import app, console, project_of

__all__: list[str] = []


def _day(value: str, option: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(value), time(0), tzinfo=UTC)
    except ValueError:
        raise UsageError(
            f"{option} {value!r} is not a date", field=option, rule="YYYY-MM-DD"
        ) from None


def _hour(value: str) -> time:
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--at {value!r} is not a time", field="--at", rule="HH:MM") from None


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


@app.command()
def simulate(
    ctx: typer.Context,
    start: Annotated[str, typer.Option("--from", help="First day judged (YYYY-MM-DD, UTC).")],
    end: Annotated[str, typer.Option("--to", help="Day after the last day judged.")],
    policy: Annotated[
        list[Path], typer.Option(help="A policy file (TOML); repeat to compare several.")
    ],
    at: Annotated[str, typer.Option(help="Hour of each day's step (UTC).")] = "10:00",
    workers: Annotated[
        int, typer.Option(min=0, help="Policies replayed at once (0: one per policy, ≤ CPUs).")
    ] = 0,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Folder for the plot and the throwaway projects (default: under "
            "the state folder, simulations/FROM_TO)."
        ),
    ] = None,
) -> None:
    """Replay history through the real jobs once per policy, in parallel, and compare them on
    forecast error and on the business metric; writes a plot, prints one JSON line last."""
    from heliograph.simulate import Replay, load_policy, plot_simulation, simulate_policies

    project = project_of(ctx)
    policies = [load_policy(p) for p in policy]
    first, last = _day(start, "--from"), _day(end, "--to")
    folder = out or project.state_dir / "simulations" / f"{first:%Y-%m-%d}_{last:%Y-%m-%d}"
    for p in policies:  # throwaway: a run starts from nothing
        shutil.rmtree(folder / "projects" / p.name, ignore_errors=True)
    replay = Replay(project.root, project.settings, first, last, folder / "projects", _hour(at))
    simulation = simulate_policies(replay, policies, workers=workers)
    plot_simulation(simulation, folder / "simulation.png")
    metrics = sorted({k for r in simulation.results for k in r.business})
    services = sorted({k for r in simulation.results for k in r.error})
    table = Table(
        "policy",
        *(f"{s}\nMAE" for s in services),
        *(m.replace(".", "\n") for m in metrics),
        "retrains",
        "promotions",
        "seconds",
        title=f"helio simulate {first:%Y-%m-%d} to {last:%Y-%m-%d}",
    )
    for result in simulation.results:
        table.add_row(
            result.policy,
            *(_fmt(result.error.get(s, {}).get("mae")) for s in services),
            *(_fmt(result.business.get(m)) for m in metrics),
            str(result.retrains),
            str(result.promotions),
            f"{result.seconds:.0f}",
        )
    console.print(table)
    for result in simulation.results:
        for note in result.notes[:5]:
            console.print(f"{result.policy}: {note}")
    console.print(f"plot: {simulation.plot}")
    console.print(json.dumps(simulation.line()), soft_wrap=True, highlight=False, markup=False)
