"""``helio train energy``: the energy reference system's training command."""

from __future__ import annotations

import math
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from heliograph.core import Project

from ._models import MODEL_NAMES

__all__ = ["train_energy"]


def train_energy(
    ctx: typer.Context,
    market: Annotated[str, typer.Option(help="Market to train, e.g. GB.")],
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
    register: Annotated[bool, typer.Option(help="Register the best as the challenger.")] = True,
    allow_failed_checks: Annotated[
        bool, typer.Option(help="Train even if the snapshots fail their checks (never promotable).")
    ] = False,
    reason: Annotated[str, typer.Option(help="Why, for the model's history.")] = "",
) -> None:
    """Backtest the candidates on one market, log them to MLflow, register the best."""
    from ._train import model_name, train_market

    project: Project = ctx.obj.project
    # As wide as a CI log needs when the output is not a terminal.
    console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
    outcome = train_market(
        project,
        market,
        snapshots=snapshot or (),
        models=[m.strip() for m in models.split(",") if m.strip()],
        backtest_days=backtest_days,
        recalibrate=recalibrate,
        train_days=train_days,
        register=register,
        allow_failed_checks=allow_failed_checks,
        reason=reason,
    )
    table = Table(
        "model",
        "MAE",
        "RMSE",
        "sMAPE %",
        "rMAE",
        "pinball P50",
        "80% coverage",
        "battery capture",
        title=f"{market}: backtest {outcome.window}, recalibrated {recalibrate}",
    )

    def fmt(value: float, pct: bool = False) -> str:
        return "-" if math.isnan(value) else (f"{100 * value:.1f}%" if pct else f"{value:.3f}")

    for name, m in outcome.metrics.items():
        table.add_row(
            name + (" (best)" if name == outcome.best else ""),
            fmt(m["mae"]),
            fmt(m["rmse"]),
            fmt(m["smape"]),
            fmt(m.get("rmae", math.nan)),
            fmt(m.get("pinball_q50", math.nan)),
            fmt(m.get("coverage_80", math.nan), pct=True),
            fmt(m.get("battery_capture", math.nan), pct=True),
        )
    console.print(table)
    console.print(
        "lineage: "
        + ", ".join(outcome.snapshots)
        + ("" if outcome.checks_passed else " (checks FAILED)")
    )
    for name, run_id in outcome.runs.items():
        console.print(f"  mlflow run {run_id}: {name}")
    if outcome.version:
        console.print(
            f"registered {model_name(market)} version {outcome.version} as challenger;"
            f" next: helio model promote {model_name(market)}"
        )
