"""``helio train recsys``: judge the recommenders on a time-based split, register the best."""

from __future__ import annotations

from typing import Annotated

import typer

from heliograph.cli import (
    AllowFailedChecks,
    Reason,
    Register,
    candidate_names,
    lineage_line,
    progress_lines,
    train_consoles,
)
from heliograph.core import Project

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
    register: Register = True,
    allow_failed_checks: AllowFailedChecks = False,
    reason: Reason = "",
) -> None:
    """Judge popularity, EASE and ALS on the newest reviews, log them to MLflow, register."""
    from ._train import train_recommender

    project: Project = ctx.obj.project
    console, err = train_consoles()
    outcome = train_recommender(
        project,
        snapshots=snapshot or (),
        models=candidate_names(models),
        test_days=test_days,
        register=register,
        allow_failed_checks=allow_failed_checks,
        reason=reason,
        progress=progress_lines(err, "fitting", "ndcg_at_10", "NDCG@10"),
    )
    console.print(f"test window {outcome.window}")
    for name, m in outcome.metrics.items():
        best = " (best)" if name == outcome.best else ""
        console.print(
            f"{name}{best}: HR@10 {m['hr_at_10']:.3f}, NDCG@10 {m['ndcg_at_10']:.3f}, "
            f"coverage {m['coverage']:.3f}, diversity {m['diversity']:.3f}"
        )
    console.print(lineage_line(outcome))
    if outcome.version:
        console.print(f"registered {outcome.model} version {outcome.version} as the challenger")
