"""The training reference a model version's live data is compared with, for drift.

A training run may log ``REFERENCE_ARTIFACT``: a Parquet sample of its feature rows (the
model's input columns; ``heliograph.training.train`` logs its last ``reference_days``) and its
predictions in a column ``prediction``, NaN on rows it made none for (drift leaves NaN out,
as it does from the live side). Without it, the
version's backtest predictions (``heliograph.registry.PREDICTIONS_ARTIFACT``, the column its
``helio.predictions`` tag names as the forecast) are the reference of the predictions' drift,
and features are not compared. No run, no artefact: ``None`` (no drift is computed).

Example::

    reference = training_reference(Registry(project), "energy-price-GB", "3")
    list(reference.columns)
    # ['prediction']
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from heliograph.registry import (
    PREDICTIONS_ARTIFACT,
    REFERENCE_ARTIFACT,
    TAG_PREDICTIONS,
    Registry,
)

__all__ = ["PREDICTION_COLUMN", "REFERENCE_ARTIFACT", "training_reference"]

PREDICTION_COLUMN = "prediction"
"""The name drift results give the predictions' own column."""

log = logging.getLogger("heliograph.monitoring")


def _download(registry: Registry, run_id: str, path: str) -> pd.DataFrame | None:
    with tempfile.TemporaryDirectory() as tmp:
        try:
            local = registry.client.download_artifacts(run_id, path, tmp)
        except Exception as exc:  # MLflow raises several types for "no such artefact"
            log.debug("no artefact %s in run %s: %s", path, run_id, exc)
            return None
        return pd.read_parquet(Path(local))


def training_reference(registry: Registry, model_name: str, version: str) -> pd.DataFrame | None:
    """The reference frame of ``version`` of ``model_name`` (see the module), or None."""
    try:
        run: Any = registry.run_of(model_name, version)
    except Exception as exc:  # an unknown version: nothing to compare with
        log.debug("no run for %s v%s: %s", model_name, version, exc)
        return None
    frame = _download(registry, run.info.run_id, REFERENCE_ARTIFACT)
    if frame is not None:
        return frame
    described = json.loads(run.data.tags.get(TAG_PREDICTIONS, "{}") or "{}")
    forecast = described.get("forecast")
    frame = _download(registry, run.info.run_id, PREDICTIONS_ARTIFACT) if forecast else None
    if frame is None or forecast not in frame:
        return None
    return pd.DataFrame({PREDICTION_COLUMN: frame[forecast].to_numpy()})
