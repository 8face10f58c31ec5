"""``helio train energy``: train the price models of one market or of all, with progress."""

from __future__ import annotations

import math
from typing import Annotated

import typer
from rich import box
from rich.table import Column, Table

from heliograph.cli import (
    AllowFailedChecks,
    Reason,
    Register,
    candidate_names,
    lineage_line,
    progress_lines,
    train_consoles,
)
from heliograph.core import Project, UsageError
from heliograph.training import TrainOutcome

from ._price_model import MODEL_NAMES

__all__ = ["results_table", "train_energy"]


def results_table(outcome: TrainOutcome, recalibrate: str) -> Table:
    """The backtest metrics of every candidate; model names are never cut."""
    labels = {n: n + (" (best)" if n == outcome.best else "") for n in outcome.metrics}
    headers = (
        "MAE",
        "RMSE",
        "sMAPE\n%",
        "rMAE",
        "pinball\nP50",
        "80%\ncoverage",
        "battery\ncapture",
    )
    table = Table(
        Column("model", no_wrap=True, min_width=max(map(len, labels.values()), default=5)),
        # Narrow columns (headers on two lines, nothing cut): 80 columns hold the table.
        *(Column(h, no_wrap=True, min_width=max(6, *map(len, h.split()))) for h in headers),
        title=f"{outcome.subject}: backtest {outcome.window}, recalibrated {recalibrate}",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=0,
        show_edge=False,
    )

    def fmt(value: float, pct: bool = False) -> str:
        return "-" if math.isnan(value) else (f"{100 * value:.1f}%" if pct else f"{value:.3f}")

    for name, m in outcome.metrics.items():
        table.add_row(
            labels[name],
            fmt(m["mae"]),
            fmt(m["rmse"]),
            fmt(m["smape"]),
            fmt(m.get("rmae", math.nan)),
            fmt(m.get("pinball_q50", math.nan)),
            fmt(m.get("coverage_80", math.nan), pct=True),
            fmt(m.get("battery_capture", math.nan), pct=True),
        )
    return table


def train_energy(
    ctx: typer.Context,
    market: Annotated[
        str | None,
        typer.Option(help="Market to train, e.g. GB; default: every market in the lake."),
    ] = None,
    snapshot: Annotated[
        list[str] | None,
        typer.Option(
            help="Snapshot to train from (energy_prices@… and/or energy_forecasts@…); "
            "default: each dataset's newest."
        ),
    ] = None,
    models: Annotated[str, typer.Option(help="Comma-separated candidates.")] = ",".join(
        MODEL_NAMES
    ),
    backtest_days: Annotated[int, typer.Option(min=7, help="Days in the backtest window.")] = 56,
    recalibrate: Annotated[
        str, typer.Option(help="Refit cadence in the backtest: daily, weekly, monthly or N days.")
    ] = "weekly",
    train_days: Annotated[int, typer.Option(min=7, help="Days of history each fit sees.")] = 365,
    reference_days: Annotated[
        int, typer.Option(min=1, help="Days of feature rows kept as the drift reference.")
    ] = 56,
    register: Register = True,
    allow_failed_checks: AllowFailedChecks = False,
    reason: Reason = "",
) -> None:
    """Backtest the candidates on each market, log them to MLflow, register the best."""
    from heliograph.lake import open_lake

    from ._train import markets, model_name, train_market

    project: Project = ctx.obj.project
    console, err = train_consoles()
    chosen = [market] if market else markets(open_lake(project))
    if not chosen:
        raise UsageError(
            "no market has prices in the lake",
            field="--market",
            rule="a market of energy_prices",
            hint="run `helio up` (or `helio job run ingest`) first",
        )
    for number, name in enumerate(chosen, 1):
        if len(chosen) > 1:
            err.print(f"training market {name} ({number} of {len(chosen)})")
        outcome = train_market(
            project,
            name,
            snapshots=snapshot or (),
            models=candidate_names(models),
            backtest_days=backtest_days,
            recalibrate=recalibrate,
            train_days=train_days,
            reference_days=reference_days,
            register=register,
            allow_failed_checks=allow_failed_checks,
            reason=reason,
            progress=progress_lines(err, "backtesting", "mae", "MAE"),
        )
        console.print(results_table(outcome, recalibrate))
        console.print(lineage_line(outcome))
        for candidate, run_id in outcome.runs.items():
            console.print(f"  mlflow run {run_id}: {candidate}")
        if outcome.version:
            console.print(
                f"registered {model_name(name)} version {outcome.version} as challenger;"
                f" next: helio model promote {model_name(name)}"
            )
