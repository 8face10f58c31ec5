"""``train`` for a pipeline with its own :class:`~heliograph.training.Evaluation`.

The same steps as a backtested pipeline, judged the evaluation's way: the data prepared once
from the checked snapshots; for each candidate an MLflow run with the lineage tags, its
metrics and its model (with the artefacts the evaluation wrote, such as a nearest-neighbour
index); the serving champion's own model re-scored on the same window; the best registered
as the ``challenger``.

Example::

    outcome = train(project, recommender_pipeline(), candidates=["popularity", "als"])
    outcome.window, outcome.best, outcome.metrics["als"]["ndcg@10"], outcome.version
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from heliograph import __version__
from heliograph.core import get_logger
from heliograph.lake import Lake
from heliograph.registry import CHAMPION, TAG_RESCORES, TAG_WINDOW, Registry
from heliograph.tracking import tracked_run

from ._evaluation import Evaluation, Judged
from ._pipeline import TrainingProgress, TrainOutcome
from ._run import _log_metrics, _register, _Run

__all__: list[str] = []  # train's own parts

log = get_logger(__name__)


def _log_model(judged: Judged) -> str:
    """Log the judged model with its artefacts; returns its URI."""
    import mlflow
    from mlflow.models import infer_signature

    example = judged.input_example
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=judged.model,
        artifacts=dict(judged.artifacts) or None,
        signature=infer_signature(example, judged.model.predict(None, example)),
        pip_requirements=[f"heliograph=={__version__}"],
    )
    return str(info.model_uri)


def _rescore(run: _Run, evaluation: Evaluation, data: Any, registry: Registry, window: str) -> None:
    """The serving champion's own model scored on this window (the policy compares like with
    like); nothing when there is no champion or it was judged on this window already."""
    import mlflow

    if run.name not in registry.models():
        return
    version = registry.version_of(run.name, CHAMPION)
    if version is None or registry.run_of(run.name, version).data.tags.get(TAG_WINDOW) == window:
        return
    champion = mlflow.pyfunc.load_model(f"models:/{run.name}/{version}")
    metrics = {k: float(v) for k, v in evaluation.rescore(champion, data).items()}
    with tracked_run(
        run.project,
        run.experiment,
        f"{run.prefix}champion-v{version}-rescored",
        tags={
            **run.tags,
            **run.pipeline.report_tags(),
            TAG_WINDOW: window,
            TAG_RESCORES: f"{run.name}/{version}",
        },
    ):
        _log_metrics(metrics)


def _train_judged(
    run: _Run, names: Sequence[str], lake: Lake, *, register: bool, reason: str
) -> TrainOutcome:
    import mlflow

    pipeline = run.pipeline
    evaluation = pipeline.evaluation
    assert evaluation is not None
    data = evaluation.prepare(lake, run.snapshots, run.subject)
    window = evaluation.window(data)
    outcome = TrainOutcome(run.name, run.subject, list(run.snapshots.values()), window)
    subject_params = {pipeline.subject: run.subject} if run.subject else {}
    for index, candidate_name in enumerate(names, 1):
        candidate = pipeline.candidate(candidate_name)
        began = time.perf_counter()
        run.tell(TrainingProgress("started", run.name, candidate_name, index, len(names)))
        with tempfile.TemporaryDirectory() as tmp:
            judged = evaluation.judge(candidate, data, Path(tmp))
            metrics = {k: float(v) for k, v in judged.metrics.items()}
            outcome.metrics[candidate_name] = metrics
            with tracked_run(
                run.project,
                run.experiment,
                f"{run.prefix}{candidate_name}",
                tags={
                    **run.tags,
                    **pipeline.report_tags(),
                    TAG_WINDOW: window,
                    "helio.model": candidate_name,
                },
            ) as active:
                mlflow.log_params(
                    {
                        **subject_params,
                        "model": candidate_name,
                        **{f"model.{k}": v for k, v in judged.params.items()},
                    }
                )
                _log_metrics(metrics)
                mlflow.log_metrics({k: float(v) for k, v in judged.extra_metrics.items()})
                outcome.model_uris[candidate_name] = _log_model(judged)
                outcome.runs[candidate_name] = active.info.run_id
        log.info("%s %s: %s", run.label, candidate_name, metrics)
        seconds = time.perf_counter() - began
        run.tell(
            TrainingProgress(
                "finished", run.name, candidate_name, index, len(names), seconds, metrics
            )
        )
    metric, _ = run.policy
    outcome.best = run.best(outcome, names)
    outcome.checks_passed = run.checks_passed
    if register:
        registry = Registry(run.project)
        _rescore(run, evaluation, data, registry, window)
        why = reason or (
            f"trained on {', '.join(run.snapshots.values())}; "
            f"best of {', '.join(names)} by {metric}"
        )
        outcome.version = _register(registry, run.name, outcome.model_uris[outcome.best], why)
        run.tell(TrainingProgress("registered", run.name, outcome.best, version=outcome.version))
    return outcome
