"""``helio train recsys``: judge the recommenders on a time-based split, register the best."""

from __future__ import annotations

import math
from typing import Annotated

import typer
from rich.console import Console

from heliograph.core import Project
from heliograph.training import TrainingProgress

__all__ = ["train_recsys"]


def train_recsys(
    ctx: typer.Context,
    snapshot: Annotated[
        list[str] | None,
        typer.Option(
            help="Snapshot to train from (recsys_reviews@… and/or recsys_items@…); "
            "default: each dataset's newest."
        ),
    ] = None,
    models: Annotated[
        str, typer.Option(help="Comma-separated candidates.")
    ] = "popularity,ease,als",
    test_days: Annotated[int, typer.Option(min=1, help="Days of reviews the split tests on.")] = 14,
    register: Annotated[bool, typer.Option(help="Register the best as the challenger.")] = True,
    allow_failed_checks: Annotated[
        bool, typer.Option(help="Train even if the snapshots fail their checks (never promotable).")
    ] = False,
    reason: Annotated[str, typer.Option(help="Why, for the model's history.")] = "",
) -> None:
    """Judge popularity, EASE and ALS on the newest reviews, log them to MLflow, register."""
    from ._train import train_recommender

    project: Project = ctx.obj.project
    console = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)

    def report(step: TrainingProgress) -> None:
        where = f"{step.model} [{step.index}/{step.total}] {step.candidate}"
        if step.stage == "started":
            err.print(f"{where}: fitting …")
        elif step.stage == "finished":
            ndcg = step.metrics.get("ndcg_at_10", math.nan)
            err.print(f"{where}: done in {step.seconds:.1f} s, NDCG@10 {ndcg:.3f}")

    outcome = train_recommender(
        project,
        snapshots=snapshot or (),
        models=[m.strip() for m in models.split(",") if m.strip()],
        test_days=test_days,
        register=register,
        allow_failed_checks=allow_failed_checks,
        reason=reason,
        progress=report,
    )
    console.print(f"test window {outcome.window}")
    for name, m in outcome.metrics.items():
        best = " (best)" if name == outcome.best else ""
        console.print(
            f"{name}{best}: HR@10 {m['hr_at_10']:.3f}, NDCG@10 {m['ndcg_at_10']:.3f}, "
            f"coverage {m['coverage']:.3f}, diversity {m['diversity']:.3f}"
        )
    console.print("lineage: " + ", ".join(outcome.snapshots))
    if outcome.version:
        console.print(f"registered {outcome.model} version {outcome.version} as the challenger")
