"""What every app's ``helio train <app>`` command shares: its options, its progress lines,
its consoles and its lineage line; the app says what it trains and which metric it shows.

Example::

    def train_mine(ctx: typer.Context, register: Register = True, reason: Reason = "") -> None:
        console, err = train_consoles()
        outcome = train(project, pipeline, progress=progress_lines(err, "fitting", "mae", "MAE"))
        console.print(lineage_line(outcome))
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import Annotated

import typer
from rich.console import Console

from heliograph.training import TrainingProgress, TrainOutcome

__all__ = [
    "AllowFailedChecks",
    "Reason",
    "Register",
    "candidate_names",
    "lineage_line",
    "progress_lines",
    "train_consoles",
]

Register = Annotated[bool, typer.Option(help="Register the best as the challenger.")]
AllowFailedChecks = Annotated[
    bool, typer.Option(help="Train even if the snapshots fail their checks (never promotable).")
]
Reason = Annotated[str, typer.Option(help="Why, for the model's history.")]


def candidate_names(models: str) -> list[str]:
    """``--models a, b,`` → ``["a", "b"]``."""
    return [m.strip() for m in models.split(",") if m.strip()]


def train_consoles() -> tuple[Console, Console]:
    """(stdout, stderr) consoles; stdout as wide as a CI log needs when not a terminal."""
    width = None if sys.stdout.isatty() else 160
    return (
        Console(highlight=False, soft_wrap=True, width=width),
        Console(stderr=True, highlight=False, soft_wrap=True),
    )


def progress_lines(
    err: Console, doing: str, metric: str, label: str
) -> Callable[[TrainingProgress], None]:
    """One line per candidate started (``doing``) and finished (``label`` its ``metric``):
    what a CI log shows while training."""

    def report(step: TrainingProgress) -> None:
        where = f"{step.model} [{step.index}/{step.total}] {step.candidate}"
        if step.stage == "started":
            err.print(f"{where}: {doing} …")
        elif step.stage == "finished":
            value = step.metrics.get(metric, math.nan)
            err.print(f"{where}: done in {step.seconds:.1f} s, {label} {value:.3f}")

    return report


def lineage_line(outcome: TrainOutcome) -> str:
    """The snapshots trained from, and whether their checks failed."""
    failed = "" if outcome.checks_passed else " (checks FAILED)"
    return "lineage: " + ", ".join(outcome.snapshots) + failed
