"""``train``: run a declared pipeline: snapshots → checks → backtest → MLflow → registry.

Every candidate is backtested walk-forward on the same window, logged as an MLflow run with
its metrics, plots, model and lineage; the best by the project's policy metric is registered
as a new version and becomes the ``challenger``, after the serving champion has been scored
on the same window.

Example::

    outcome = train(project, pipeline, "GB", candidates=["naive", "lear"], backtest_days=28)
    outcome.window, outcome.best, outcome.metrics[outcome.best]["mae"], outcome.version
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from heliograph import __version__
from heliograph.compute import Engine, open_engine
from heliograph.core import DataError, Project, UsageError, get_logger
from heliograph.features import compute_offline
from heliograph.lake import open_lake
from heliograph.registry import CHAMPION, TAG_RESCORES, TAG_WINDOW, Registry
from heliograph.tracking import lineage_tags, tracked_run

from ._backtest import BacktestResult, backtest
from ._inputs import check_snapshots, resolve_snapshots
from ._judged import _train_judged
from ._pipeline import Candidate, TrainingPipeline, TrainingProgress, TrainOutcome
from ._run import _log_metrics, _register, _Run
from ._sweep import Sweep, _Trials, current_sweep

__all__ = ["train"]

log = get_logger(__name__)

Progress = Callable[[TrainingProgress], None]


def _recent(features: pd.DataFrame, train_days: int | None) -> pd.DataFrame:
    """The rows the registered model is fit on: known labels, the last ``train_days`` days,
    the same window every backtest fit saw."""
    known = features.loc[features["target"].notna()]
    if train_days is None or known.empty:
        return known
    return known.loc[known["timestamp"] >= known["timestamp"].max() - pd.Timedelta(days=train_days)]


def _members_first(pipeline: TrainingPipeline, names: Sequence[str]) -> list[str]:
    """``names`` with each ensemble after the members it combines."""
    plain = [n for n in names if not pipeline.candidate(n).members]
    return [*plain, *(n for n in names if n not in plain)]


def _score(pipeline: TrainingPipeline, predictions: pd.DataFrame, features: pd.DataFrame) -> dict:
    assert pipeline.metrics is not None
    return {k: float(v) for k, v in pipeline.metrics(predictions, features).items()}


def _rescore_champion(
    project: Project,
    pipeline: TrainingPipeline,
    registry: Registry,
    name: str,
    rows: pd.DataFrame,
    features: pd.DataFrame,
    experiment: str,
    tags: dict[str, str],
    window: str,
    prefix: str,
) -> None:
    """Score the serving champion's own model on this backtest window, so the policy can
    compare like with like. (Its model may have been fit on days inside the window, which
    only makes it harder to beat.)"""
    import mlflow

    if name not in registry.models():
        return
    version = registry.version_of(name, CHAMPION)
    if version is None or registry.run_of(name, version).data.tags.get(TAG_WINDOW) == window:
        return
    champion = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
    columns = champion.metadata.signature.inputs.input_names()
    predicted = pd.DataFrame(champion.predict(rows[columns].astype(float)))
    predicted.index = rows.index
    scored = pd.concat([rows[[*pipeline.keys, "timestamp", "target"]], predicted], axis=1)
    with tracked_run(
        project,
        experiment,
        f"{prefix}champion-v{version}-rescored",
        tags={
            **tags,
            **pipeline.report_tags(),
            TAG_WINDOW: window,
            TAG_RESCORES: f"{name}/{version}",
        },
    ):
        _log_metrics(_score(pipeline, scored, features))
        _log_predictions(pipeline, scored)


def _log_predictions(pipeline: TrainingPipeline, predictions: pd.DataFrame) -> None:
    """The backtest's predictions, as the Parquet artefact the reports plot."""
    import tempfile
    from pathlib import Path

    import mlflow

    from heliograph.registry import PREDICTIONS_ARTIFACT

    columns = pipeline.plotted_columns()
    if not columns:
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(PREDICTIONS_ARTIFACT).name
        predictions[columns].to_parquet(path, index=False)
        mlflow.log_artifact(str(path), str(Path(PREDICTIONS_ARTIFACT).parent))


_REFERENCE_ROWS = 5_000
"""The most feature rows a run logs as its monitoring reference (a seeded sample)."""


def _reference_rows(features: pd.DataFrame, end: pd.Timestamp, reference_days: int) -> pd.Index:
    """The feature rows of the reference: every row of the last ``reference_days`` delivery
    days up to the backtest's last day (the training cut: nothing after it)."""
    day = features["timestamp"].dt.normalize()
    first = end - pd.Timedelta(days=reference_days - 1)
    return features.index[(day >= first) & (day <= end)]


def _log_reference(
    pipeline: TrainingPipeline,
    predictions: pd.DataFrame,
    features: pd.DataFrame,
    columns: list[str],
    rows: pd.Index,
) -> None:
    """The feature rows ``rows`` (the last ``reference_days`` days of training data) and the
    backtest's point forecast (``prediction``) where it forecast them, NaN elsewhere, sampled:
    the reference monitoring measures a version's drift against (``REFERENCE_ARTIFACT``).
    Drift leaves the NaN out: the predictions' reference is the backtest's forecasts alone."""
    import tempfile
    from pathlib import Path

    import mlflow

    from heliograph.registry import REFERENCE_ARTIFACT

    plotted = (pipeline.predictions_plot or {}).get("forecast")
    outputs = [c for c in pipeline.outputs if c in predictions]
    forecast = plotted if plotted in predictions else (outputs[0] if outputs else None)
    reference = features.loc[rows, columns].astype(float)
    if forecast is not None:
        forecasts = predictions[forecast].astype(float)
        reference["prediction"] = forecasts.reindex(reference.index).to_numpy(dtype=float)
    if len(reference) > _REFERENCE_ROWS:
        reference = reference.sample(_REFERENCE_ROWS, random_state=0).sort_index()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(REFERENCE_ARTIFACT).name
        reference.reset_index(drop=True).to_parquet(path, index=False)
        mlflow.log_artifact(str(path), str(Path(REFERENCE_ARTIFACT).parent))


def _log_candidate(
    pipeline: TrainingPipeline,
    final: Any,
    result: BacktestResult,
    features: pd.DataFrame,
    columns: list[str],
    label: str,
    reference: pd.Index,
) -> str:
    """Inside the candidate's run: its figures and its model; returns the model's URI."""
    import mlflow
    from mlflow.models import infer_signature

    from ._pyfunc import TrainedModel

    if pipeline.plots is not None:
        for path, fig in pipeline.plots(result.predictions, label).items():
            mlflow.log_figure(fig, path)
    _log_predictions(pipeline, result.predictions)
    _log_reference(pipeline, result.predictions, features, columns, reference)
    wrapped = TrainedModel(final, columns, pipeline.outputs)
    example = features[columns].tail(5).astype(float)
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=wrapped,
        signature=infer_signature(example, wrapped.predict(None, example)),
        input_example=example,
        pip_requirements=[f"heliograph=={__version__}"],
    )
    return str(info.model_uri)


def _window(
    features: pd.DataFrame, label: str, backtest_days: int
) -> tuple[pd.Timestamp, pd.Timestamp]:
    known_days = features.loc[features["target"].notna(), "timestamp"].dt.normalize().unique()
    if len(known_days) <= backtest_days + 7:
        raise DataError(
            f"{label}: {len(known_days)} days with known labels, too few for a "
            f"{backtest_days}-day backtest",
            field="--backtest-days",
            rule="more known days than the backtest plus a week of training",
        )
    end = pd.Timestamp(np.sort(known_days)[-1])
    return end - pd.Timedelta(days=backtest_days - 1), end


def train(
    project: Project,
    pipeline: TrainingPipeline,
    subject: str | None = None,
    *,
    candidates: Sequence[str] | None = None,
    snapshots: Sequence[str] = (),
    backtest_days: int = 56,
    recalibrate: str | int = "weekly",
    train_days: int | None = 365,
    reference_days: int = 56,
    register: bool = True,
    allow_failed_checks: bool = False,
    reason: str = "",
    progress: Progress | None = None,
    engine: Engine | None = None,
    sweep: Sweep | None = None,
) -> TrainOutcome:
    """Backtest, log and register the candidates of ``pipeline`` for ``subject`` (module doc).

    ``candidates``: the names to try (default: all); ``progress`` is called as each candidate
    starts and finishes, and when the best is registered. ``engine``: where the backtests'
    folds run (default: the project's ``[compute]``); the metrics are the same on every
    engine. ``sweep`` (default: the one :func:`sweeping` set, if any): the trials of its
    candidate run in place of the candidates (``heliograph.training.Sweep``).
    ``reference_days``: the days of feature rows, up to the backtest's last day, logged as
    the monitoring reference (``REFERENCE_ARTIFACT``), however short the backtest.
    """
    import mlflow

    if reference_days < 1:
        raise UsageError(
            f"reference_days is {reference_days}",
            field="--reference-days",
            rule="at least one day of feature rows for the monitoring reference",
        )
    sweep = sweep if sweep is not None else current_sweep()
    if sweep is not None:
        if pipeline.evaluation is not None:
            raise UsageError(
                f"{pipeline.name} judges its candidates with its own evaluation: no sweep",
                field="--sweep",
                rule="a pipeline of walk-forward backtests",
            )
        candidates = [sweep.candidate]
    names = list(candidates) if candidates is not None else list(pipeline.candidate_names)
    for candidate_name in names:
        pipeline.candidate(candidate_name)  # an unknown name is a UsageError, before any work
    name = pipeline.model_name(subject)
    label = subject or name
    lake = open_lake(project)
    chosen = resolve_snapshots(lake, pipeline.datasets, snapshots)
    checks_passed, checks = check_snapshots(lake, chosen)
    if not checks_passed and not allow_failed_checks:
        failed = {k: v["failed"] for k, v in checks.items() if v["failed"]}
        raise DataError(
            f"the snapshots failed their checks: {json.dumps(failed)}",
            field="snapshot",
            rule="training data passes its checks",
            hint="fix the data, or pass --allow-failed-checks (the policy will "
            "then refuse to promote the model)",
        )
    tags = lineage_tags(
        project.root,
        snapshots=list(chosen.values()),
        checks=checks,
        checks_passed=checks_passed,
        feature_view=pipeline.ref,
    )
    if subject:
        tags[f"helio.{pipeline.subject}"] = subject
    run = _Run(project, pipeline, subject, name, label, chosen, checks_passed, tags, progress)
    if pipeline.evaluation is not None:
        return _train_judged(run, names, lake, register=register, reason=reason)
    assert pipeline.requests is not None and pipeline.feature_view is not None
    requests = pipeline.requests(lake, chosen, subject)
    features = compute_offline(lake, pipeline.feature_view, requests, snapshots=chosen)
    start, end = _window(features, label, backtest_days)
    reference = _reference_rows(features, end, reference_days)
    outcome = TrainOutcome(name, subject, list(chosen.values()), "")
    columns = pipeline.inputs(features)
    experiment = f"{project.settings.project.name}/{name}"
    subject_params = {pipeline.subject: subject} if subject else {}
    results: dict[str, BacktestResult] = {}
    finals: dict[str, Any] = {}
    engine = engine if engine is not None else open_engine(project.settings.compute)
    trials = _Trials(sweep, pipeline, run.policy) if sweep is not None else None
    plan = trials if trials is not None else [
        pipeline.candidate(n) for n in _members_first(pipeline, names)
    ]  # fmt: skip
    for index, candidate in enumerate(plan, 1):
        candidate_name = candidate.name
        began = time.perf_counter()
        if progress:
            progress(TrainingProgress("started", name, candidate_name, index, len(plan)))
        result, final = _run_candidate(
            pipeline,
            candidate,
            results,
            finals,
            features,
            start=start,
            end=end,
            recalibrate=recalibrate,
            train_days=train_days,
            label=label,
            engine=engine,
        )
        results[candidate_name], finals[candidate_name] = result, final
        outcome.window = result.window
        metrics = _score(pipeline, result.predictions, features)
        outcome.metrics[candidate_name] = metrics
        if trials is not None:
            trials.tell(candidate_name, metrics)
        with tracked_run(
            project,
            experiment,
            f"{subject}-{candidate_name}" if subject else candidate_name,
            tags={
                **tags,
                **pipeline.report_tags(),
                TAG_WINDOW: result.window,
                "helio.model": candidate_name,
                **(trials.tags(candidate_name) if trials is not None else {}),
            },
        ) as active:
            params = final.params() if hasattr(final, "params") else {}
            mlflow.log_params(
                {
                    **subject_params,
                    "model": candidate_name,
                    "recalibrate": recalibrate,
                    "train_days": train_days,
                    "backtest_days": backtest_days,
                    "reference_days": reference_days,
                    **{f"model.{k}": v for k, v in params.items()},
                }
            )
            _log_metrics(metrics)
            mlflow.log_metric("backtest_fits", result.fits)
            outcome.model_uris[candidate_name] = _log_candidate(
                pipeline, final, result, features, columns, candidate_name, reference
            )
            outcome.runs[candidate_name] = active.info.run_id
        log.info("%s %s: %s", label, candidate_name, metrics)
        if progress:
            progress(
                TrainingProgress(
                    "finished",
                    name,
                    candidate_name,
                    index,
                    len(plan),
                    time.perf_counter() - began,
                    metrics,
                )
            )
    metric, _ = run.policy
    if trials is not None:
        names = list(outcome.metrics)  # the trials, in the order they ran
    outcome.metrics = {n: outcome.metrics[n] for n in names}  # the order asked for
    outcome.best = run.best(outcome, names)
    outcome.checks_passed = checks_passed
    if register:
        registry = Registry(project)
        day = features["timestamp"].dt.normalize()
        rows = features.loc[(day >= start) & (day <= end) & features["target"].notna()]
        prefix = f"{subject}-" if subject else ""
        _rescore_champion(
            project, pipeline, registry, name, rows, features, experiment, tags, outcome.window,
            prefix,
        )  # fmt: skip
        why = reason or (
            f"trained on {', '.join(chosen.values())}; best of {', '.join(names)} by {metric}"
        )
        outcome.version = _register(registry, name, outcome.model_uris[outcome.best], why)
        if progress:
            progress(TrainingProgress("registered", name, outcome.best, version=outcome.version))
    return outcome


def _run_candidate(
    pipeline: TrainingPipeline,
    candidate: Candidate,
    results: dict[str, BacktestResult],
    finals: dict[str, Any],
    features: pd.DataFrame,
    *,
    start: pd.Timestamp,
    end: pd.Timestamp,
    recalibrate: str | int,
    train_days: int | None,
    label: str,
    engine: Engine | None = None,
) -> tuple[BacktestResult, Any]:
    """The candidate's backtest and its model fit on the recent rows."""
    members = candidate.members
    if (
        members
        and candidate.combine is not None
        and candidate.assemble is not None
        and all(m in results for m in members)
    ):
        # The members were just backtested and fit on the same rows: combine them rather
        # than fit each a second time (the ensemble's own fit would give the same numbers).
        parts = [results[m].predictions for m in members]
        mixed = candidate.combine(parts)
        result = replace(results[members[0]], predictions=parts[0].assign(**mixed))
        return result, candidate.assemble([finals[m] for m in members])
    result = backtest(
        features,
        candidate.make,
        start=start,
        end=end,
        recalibrate=recalibrate,
        train_days=train_days,
        description=f"{label} {candidate.name} backtest",
        keys=pipeline.keys,
        outputs=pipeline.outputs or None,
        engine=engine
        if engine is not None and (engine.name != "local" or engine.workers > 1)
        else None,
    )
    return result, candidate.make().fit(_recent(features, train_days))
