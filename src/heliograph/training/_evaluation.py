"""How a pipeline judges its candidates when a walk-forward backtest of a feature view is not
the right test: a recommender judged on a time-based split, for instance.

A :class:`TrainingPipeline` with an ``evaluation`` hands :func:`train` this object instead of a
feature view, requests and a scorer. :func:`train` still does what is the same for every app
(snapshots → checks → an MLflow run per candidate with its lineage → registration of the best
→ the champion re-scored on the same window); the evaluation says what is the app's: which
datasets it reads, how to prepare them, the window, and, for one candidate, its metrics and
the fitted model to log (a ``mlflow.pyfunc.PythonModel``, an input example, artefacts).

Example::

    class Split:
        datasets, ref = ("reviews",), "reviews-split@1"
        def prepare(self, lake, snapshots, subject): return read_and_split(lake, snapshots)
        def window(self, data): return data.window
        def judge(self, candidate, data, workdir): return Judged(metrics, model, example)
        def rescore(self, champion, data): return score(champion, data)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

if TYPE_CHECKING:
    from heliograph.lake import Lake

    from ._pipeline import Candidate

__all__ = ["Evaluation", "Judged"]


@dataclass
class Judged:
    """One candidate judged: its ``metrics``, the fitted model to register (``model``, an
    MLflow ``PythonModel``) with an ``input_example`` of its inputs (numbers: what a serving
    signature declares), the ``artifacts`` logged with it (name → local path, read back by
    the model's ``load_context``), the parameters, and run metrics logged under their own
    names (``metrics`` are the judged ones, logged as ``backtest_<name>`` for the policy)."""

    metrics: dict[str, float]
    model: Any
    input_example: pd.DataFrame
    artifacts: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    extra_metrics: Mapping[str, float] = field(default_factory=dict)


class Evaluation(Protocol):
    """What a pipeline's own evaluation gives :func:`train` (see the module doc)."""

    @property
    def datasets(self) -> tuple[str, ...]:
        """The datasets a run reads (a snapshot of each, checked)."""
        ...

    @property
    def ref(self) -> str:
        """What the runs were computed from, for lineage (``helio.feature_view``)."""
        ...

    def prepare(self, lake: Lake, snapshots: Mapping[str, str], subject: str | None) -> Any:
        """The data every candidate is judged on, from the snapshots."""
        ...

    def window(self, data: Any) -> str:
        """The test window as text: runs are comparable only on the same window."""
        ...

    def judge(self, candidate: Candidate, data: Any, workdir: Path) -> Judged:
        """Fit and score ``candidate``; artefacts may be written under ``workdir``."""
        ...

    def rescore(self, champion: Any, data: Any) -> Mapping[str, float]:
        """The metrics of a registered version (its loaded pyfunc model) on ``data``."""
        ...
