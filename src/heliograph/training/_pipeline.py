"""The training pipeline any app plugs into: what the app declares, and what the platform does.

An app declares a :class:`TrainingPipeline`: its feature view, the requests to compute
features for, its candidates (named model factories), how to score a backtest, and the name
under which the best is registered. :func:`train` then does what is the same for every app:
snapshots → checks → walk-forward backtest of every candidate on one window → an MLflow run
per candidate with its lineage → registration of the best as the ``challenger`` → the
serving champion re-scored on the same window, so the policy compares like with like.

Example::

    pipeline = TrainingPipeline(
        name="demand",                       # registered as demand-<subject>, or demand
        feature_view=DemandFeatures(),
        requests=demand_requests,            # (lake, snapshots, subject) -> requests
        candidates=[Candidate("ridge", Ridge), Candidate("gbm", lambda: GBM(n=200))],
        metrics=lambda predictions, features: point_metrics(predictions),
    )
    outcome = train(project, pipeline, "north", progress=print)
    outcome.best, outcome.version
    # ('gbm', '3')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from heliograph.core import UsageError
from heliograph.features import FeatureView
from heliograph.lake import Lake

from ._evaluation import Evaluation

__all__ = ["Candidate", "TrainOutcome", "TrainingPipeline", "TrainingProgress"]

Requests = Callable[[Lake, Mapping[str, str], "str | None"], pd.DataFrame]
Scorer = Callable[[pd.DataFrame, pd.DataFrame], Mapping[str, float]]
Plotter = Callable[[pd.DataFrame, str], Mapping[str, Any]]


@dataclass(frozen=True)
class Candidate:
    """A model to backtest: its name and a factory of unfitted models.

    An ensemble of other candidates names its ``members`` and says how to ``combine`` their
    backtest predictions and ``assemble`` their fitted models: when every member was trained
    in the same run, the pipeline combines their results instead of fitting them again.

    Example::

        Candidate("ridge", lambda: Ridge(alpha=1.0))
        Candidate("mean", Mean, members=("ridge", "gbm"), combine=average, assemble=Mean.of)
    """

    name: str
    make: Callable[[], Any]  # a Forecaster for a backtest; what the evaluation fits otherwise
    members: tuple[str, ...] = ()
    combine: Callable[[Sequence[pd.DataFrame]], pd.DataFrame] | None = None
    assemble: Callable[[Sequence[Any]], Any] | None = None


@dataclass(frozen=True)
class TrainingPipeline:
    """What an app declares to train its models with :func:`train`.

    - ``feature_view`` computes the feature frame (``timestamp``, ``as_of``, ``target``,
      ``target_available_at``, the features) from the snapshots of its datasets;
    - ``requests(lake, snapshots, subject)`` says which rows to compute (it raises a
      ``UsageError`` for an unknown subject);
    - ``metrics(predictions, features)`` scores a backtest (the predictions are on the
      feature frame's index); the project's policy metric must be among its keys;
    - ``keys``: identifier columns kept beside predictions; ``outputs``: the columns a model
      predicts (what the registered model returns); ``plots(predictions, label)`` gives
      figures to log (path → matplotlib figure); ``feature_columns(features)`` the model
      inputs (default: every numeric column but the keys, times and label);
    - ``metric_descriptions``: ``{metric: {"unit": "€/MWh", "better": "lower" | "higher" |
      target}}``, in the order reports show them; ``predictions_plot``: which prediction
      columns are the ``time``, ``actual``, ``forecast``, ``low`` and ``high`` of a forecast
      plot, and their ``unit``. Both are logged with every run (``helio.metrics`` and
      ``helio.predictions`` tags, and ``backtest/predictions.parquet``) for the CI report;
    - ``subject``: what one trained model is for (``"meter"``: one model per meter), logged
      as a parameter and the ``helio.<subject>`` tag; the registered model is
      ``<name>-<subject value>``, or ``name`` when trained for no subject;
    - ``evaluation``: instead of ``feature_view``, ``requests`` and ``metrics``, an
      :class:`~heliograph.training.Evaluation` that prepares the data and judges each
      candidate itself (a recommender's time-based split, say);
    - ``policy``: ``(metric, "minimize" | "maximize")`` that chooses the best candidate
      (default: the project's ``[policy]``).
    """

    name: str
    feature_view: FeatureView | None = None
    requests: Requests | None = None
    candidates: Sequence[Candidate] = ()
    metrics: Scorer | None = None
    keys: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    plots: Plotter | None = None
    feature_columns: Callable[[pd.DataFrame], list[str]] | None = None
    subject: str = "subject"
    description: str = ""
    metric_descriptions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    predictions_plot: Mapping[str, str] | None = None
    evaluation: Evaluation | None = None
    policy: tuple[str, Literal["minimize", "maximize"]] | None = None

    def __post_init__(self) -> None:
        if self.evaluation is None and (self.requests is None or self.metrics is None):
            raise UsageError(
                f"training pipeline {self.name}: nothing to judge the candidates with",
                field="evaluation",
                rule="an evaluation, or requests and metrics (over a feature_view)",
            )

    @property
    def datasets(self) -> tuple[str, ...]:
        """The datasets a run reads: the evaluation's, or the feature view's."""
        if self.evaluation is not None:
            return tuple(self.evaluation.datasets)
        assert self.feature_view is not None
        return tuple(self.feature_view.datasets)

    @property
    def ref(self) -> str:
        """What a run's inputs were computed by (the lineage's ``helio.feature_view``)."""
        if self.evaluation is not None:
            return self.evaluation.ref
        assert self.feature_view is not None
        return self.feature_view.ref

    def model_name(self, subject: str | None = None) -> str:
        """The registered model trained for ``subject``."""
        return f"{self.name}-{subject}" if subject else self.name

    def candidate(self, name: str) -> Candidate:
        for candidate in self.candidates:
            if candidate.name == name:
                return candidate
        raise UsageError(
            f"unknown model {name!r}",
            field="--models",
            rule="any of " + ", ".join(self.candidate_names),
        )

    def report_tags(self) -> dict[str, str]:
        """The run tags that tell reports what the metrics and predictions mean."""
        import json

        from heliograph.registry import PREDICTIONS_ARTIFACT, TAG_METRICS, TAG_PREDICTIONS

        tags = {}
        if self.metric_descriptions:
            tags[TAG_METRICS] = json.dumps(
                {k: dict(v) for k, v in self.metric_descriptions.items()}
            )
        if self.predictions_plot is not None:
            tags[TAG_PREDICTIONS] = json.dumps(
                {"path": PREDICTIONS_ARTIFACT, **self.predictions_plot}
            )
        return tags

    def plotted_columns(self) -> list[str]:
        """The prediction columns the logged predictions artefact keeps."""
        if self.predictions_plot is None:
            return []
        wanted = ("time", "actual", "forecast", "low", "high")
        return [self.predictions_plot[k] for k in wanted if k in self.predictions_plot]

    @property
    def candidate_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.candidates)

    def inputs(self, features: pd.DataFrame) -> list[str]:
        """The model inputs of a feature frame."""
        if self.feature_columns is not None:
            return list(self.feature_columns(features))
        skip = {*self.keys, "timestamp", "as_of", "target", "target_available_at"}
        return [
            c
            for c in features.columns
            if c not in skip and pd.api.types.is_numeric_dtype(features[c].dtype)
        ]


@dataclass(frozen=True)
class TrainingProgress:
    """A step of :func:`train`, for a progress callback: a candidate ``started`` or
    ``finished`` (with its metrics and the seconds it took), then ``registered``."""

    stage: Literal["started", "finished", "registered"]
    model: str  # the registered model's name
    candidate: str = ""
    index: int = 0  # 1-based, of ``total`` candidates
    total: int = 0
    seconds: float = 0.0
    metrics: Mapping[str, float] = field(default_factory=dict)
    version: str | None = None


@dataclass
class TrainOutcome:
    """What a training run did: the window, each candidate's metrics, runs and model URIs,
    the best candidate and the version registered (``None`` with ``register=False``)."""

    model: str
    subject: str | None
    snapshots: list[str]
    window: str
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    runs: dict[str, str] = field(default_factory=dict)
    model_uris: dict[str, str] = field(default_factory=dict)
    best: str = ""
    version: str | None = None
    checks_passed: bool = True
