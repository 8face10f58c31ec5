"""Batch scoring: a registered version's predictions for every row of a snapshot, in the ledger.

``score_snapshot`` computes the pipeline's features from the named snapshots (the requests
the pipeline makes of them, as training does), loads the version an alias names, predicts
the rows in chunks on the compute engine (``[compute]``: local processes or Ray), and writes
one prediction per row to the ledger, with the model version, the role, the row's inputs and
its as-of time (service ``batch:<pipeline>``, kept apart from the gateway's answers). A
record's id is derived from (model, version, snapshots, row), and the ledger ignores an id it
already holds: scoring the same snapshot again adds nothing.

Example::

    outcome = score_snapshot(project, price_pipeline(), ["energy_prices@3f9c0a1b2d4e"],
                             subject="GB")
    outcome.rows, outcome.version
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from heliograph.compute import Engine, chunks, open_engine
from heliograph.core import Project, UsageError
from heliograph.features import compute_offline
from heliograph.lake import open_lake
from heliograph.ledger import PredictionRecord, PredictionWriter
from heliograph.registry import CHALLENGER, CHAMPION, Registry

from ._inputs import resolve_snapshots
from ._pipeline import TrainingPipeline

__all__ = ["ScoreOutcome", "score_snapshot"]

_NAMESPACE = uuid.UUID("0b7d4a52-3c1e-4b8e-9e57-7f3f0c2d9a64")
_CHUNK_ROWS = 2_000


@dataclass
class ScoreOutcome:
    """What a batch scoring did: the version that scored, the snapshots, the rows written."""

    model: str
    version: str
    role: str
    snapshots: list[str]
    rows: int
    service: str

    def summary(self) -> str:
        return (
            f"{self.rows} predictions of {self.model} version {self.version} ({self.role}) "
            f"for {', '.join(self.snapshots)}"
        )


@dataclass(frozen=True)
class _Predict:
    """One chunk's predictions (picklable: the model travels once to each worker)."""

    model: Any
    columns: list[str]

    def __call__(self, rows: pd.DataFrame) -> pd.DataFrame:
        predicted = pd.DataFrame(self.model.predict(rows[self.columns].astype(float)))
        predicted.index = rows.index
        return predicted


def _json(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.integer):
        return int(value)
    return value


def score_snapshot(
    project: Project,
    pipeline: TrainingPipeline,
    snapshots: Sequence[str],
    *,
    subject: str | None = None,
    alias: str = CHAMPION,
    engine: Engine | None = None,
    chunk_rows: int = _CHUNK_ROWS,
) -> ScoreOutcome:
    """Score every row the pipeline makes of ``snapshots`` with ``alias``'s version (module doc).

    ``snapshots``: ``dataset@id`` of the pipeline's datasets (the others: their newest).
    """
    import mlflow

    if alias not in (CHAMPION, CHALLENGER):
        raise UsageError(
            f"cannot record predictions of the {alias!r} role",
            field="--alias",
            rule="champion or challenger",
        )
    if pipeline.requests is None or pipeline.feature_view is None:
        raise UsageError(
            f"{pipeline.name} has no feature view to score snapshots with",
            field="pipeline",
            rule="a pipeline with a feature view and requests",
        )
    name = pipeline.model_name(subject)
    registry = Registry(project)
    version = registry.version_of(name, alias) if name in registry.models() else None
    if version is None:
        raise UsageError(
            f"{name} has no {alias}", field="--alias", rule="a role that a version holds"
        )
    lake = open_lake(project)
    chosen = resolve_snapshots(lake, pipeline.datasets, snapshots)
    requests = pipeline.requests(lake, chosen, subject)
    features = compute_offline(lake, pipeline.feature_view, requests, snapshots=chosen)
    model = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
    columns = list(model.metadata.signature.inputs.input_names())
    engine = engine if engine is not None else open_engine(project.settings.compute)
    features = features.reset_index(drop=True)
    parts = chunks(features, chunk_rows)
    predicted = pd.concat(engine.map(_Predict(model, columns), parts)) if parts else None
    service = f"batch:{pipeline.name}"
    used = sorted(chosen.values())
    key_columns = [*pipeline.keys, "timestamp", "as_of"]
    now = project.clock().now()
    with PredictionWriter(project.ledger_url, project.state_dir / "spool") as writer:
        for index in features.index:
            row = features.loc[index]
            keys = {c: _json(row[c]) for c in key_columns}
            identity = f"{name}|{version}|{alias}|{'|'.join(used)}|{sorted(keys.items())}"
            stamp = pd.Timestamp(row["timestamp"]).to_pydatetime()
            assert predicted is not None
            writer.submit(
                PredictionRecord(
                    service=service,
                    model_name=name,
                    model_version=version,
                    role=alias,
                    request_id=f"batch-{'+'.join(used)}",
                    inputs_hash="",
                    outputs={c: _json(v) for c, v in predicted.loc[index].items()},
                    latency_ms=0.0,
                    inputs={**keys, **{c: _json(row[c]) for c in columns}},
                    as_of=pd.Timestamp(row["as_of"]).to_pydatetime(),
                    target_start=stamp,
                    target_end=stamp,
                    record_id=uuid.uuid5(_NAMESPACE, identity).hex,
                    at=now,
                )
            )
    return ScoreOutcome(name, version, alias, used, len(features), service)
