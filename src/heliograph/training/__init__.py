"""Training: the pipeline any app plugs into, and walk-forward backtests.

An app declares a ``TrainingPipeline`` (feature view, requests, candidates, metrics, or its
own ``Evaluation``); ``train`` runs it: snapshots → checks → backtest (or the evaluation) →
MLflow runs with lineage → registration → the champion re-scored on the same window. Metrics
live in ``heliograph.metrics``.

>>> from heliograph.training import Candidate, TrainingPipeline, backtest, train
"""

from __future__ import annotations

from typing import Any

from ._backtest import CADENCES, BacktestResult, Forecaster, backtest, cadence_days
from ._evaluation import Evaluation, Judged
from ._inputs import check_snapshots, resolve_snapshots
from ._pipeline import Candidate, TrainingPipeline, TrainingProgress, TrainOutcome
from ._score import ScoreOutcome, score_snapshot
from ._sweep import TAG_SWEEP, TAG_TRIAL, Sweep, sweeping
from ._train import train

__all__ = [
    "CADENCES",
    "TAG_SWEEP",
    "TAG_TRIAL",
    "BacktestResult",
    "Candidate",
    "Evaluation",
    "Forecaster",
    "Judged",
    "ScoreOutcome",
    "Sweep",
    "TrainOutcome",
    "TrainedModel",
    "TrainingPipeline",
    "TrainingProgress",
    "backtest",
    "cadence_days",
    "check_snapshots",
    "resolve_snapshots",
    "score_snapshot",
    "sweeping",
    "train",
]

# Imported only when needed: it subclasses MLflow's PythonModel, so importing it imports MLflow.
LAZY = ("_pyfunc",)


def __getattr__(name: str) -> Any:
    if name == "TrainedModel":
        from ._pyfunc import TrainedModel

        return TrainedModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
