"""Training: the pipeline any app plugs into, and walk-forward backtests.

An app declares a ``TrainingPipeline`` (feature view, requests, candidates, metrics); ``train``
runs it: snapshots → checks → backtest → MLflow runs with lineage → registration → the
champion re-scored on the same window. Metrics live in ``heliograph.metrics``.

>>> from heliograph.training import Candidate, TrainingPipeline, backtest, train
"""

from __future__ import annotations

from typing import Any

from ._backtest import *  # noqa: F403
from ._backtest import __all__ as _backtest_all
from ._inputs import *  # noqa: F403
from ._inputs import __all__ as _inputs_all
from ._pipeline import *  # noqa: F403
from ._pipeline import __all__ as _pipeline_all
from ._train import *  # noqa: F403
from ._train import __all__ as _train_all

__all__ = sorted([*_backtest_all, *_inputs_all, *_pipeline_all, *_train_all, "TrainedModel"])

# Imported only when needed: it subclasses MLflow's PythonModel, so importing it imports MLflow.
LAZY = ("_pyfunc",)


def __getattr__(name: str) -> Any:
    if name == "TrainedModel":
        from ._pyfunc import TrainedModel

        return TrainedModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
