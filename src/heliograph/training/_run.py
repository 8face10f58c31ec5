"""What one :func:`~heliograph.training.train` call shares between its steps, whichever way
its candidates are judged: the project, the pipeline, the lineage tags, the policy that picks
the best, and logging metrics and registering quietly.

Example::

    run = _Run(project, pipeline, "GB", "energy-price-GB", "GB", snapshots, True, tags, None)
    run.best(outcome, ["naive", "lear"])
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from heliograph.core import Project, get_logger
from heliograph.registry import Registry, metric_key

from ._pipeline import TrainingPipeline, TrainingProgress, TrainOutcome

__all__: list[str] = []  # train's own parts

log = get_logger(__name__)


@dataclass
class _Run:
    project: Project
    pipeline: TrainingPipeline
    subject: str | None
    name: str  # the registered model
    label: str
    snapshots: Mapping[str, str]
    checks_passed: bool
    tags: dict[str, str]
    progress: Callable[[TrainingProgress], None] | None

    @property
    def experiment(self) -> str:
        return f"{self.project.settings.project.name}/{self.name}"

    @property
    def prefix(self) -> str:
        return f"{self.subject}-" if self.subject else ""

    @property
    def policy(self) -> tuple[str, str]:
        """(metric, direction) that picks the best: the pipeline's, else the project's."""
        if self.pipeline.policy is not None:
            return self.pipeline.policy
        policy = self.project.settings.policy
        return policy.metric, policy.direction

    def best(self, outcome: TrainOutcome, names: Sequence[str]) -> str:
        metric, direction = self.policy
        sign = 1 if direction == "minimize" else -1

        def score(candidate_name: str) -> float:
            value = outcome.metrics[candidate_name].get(metric, math.nan)
            return math.inf if math.isnan(value) else sign * value

        return min(names, key=score)

    def tell(self, step: TrainingProgress) -> None:
        if self.progress is not None:
            self.progress(step)


def _log_metrics(metrics: Mapping[str, float]) -> None:
    import mlflow

    mlflow.log_metrics({metric_key(k): v for k, v in metrics.items() if not math.isnan(v)})


def _register(registry: Registry, name: str, uri: str, reason: str) -> str:
    """Register quietly: MLflow prints "Successfully registered model" to standard error."""
    quiet = io.StringIO()
    with contextlib.redirect_stderr(quiet):
        version = registry.register(name, uri, reason=reason)
    if quiet.getvalue().strip():
        log.debug("mlflow: %s", quiet.getvalue().strip())
    return version
