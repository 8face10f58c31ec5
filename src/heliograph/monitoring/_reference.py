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
import threading
from collections import OrderedDict
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


# A run's artefacts never change once logged: a long-running scheduler's monitor passes
# (one an hour, or one every few seconds of a replay) read each version's reference once,
# not once a pass (measured: most of the pass's time after its read of the ledger). Bounded:
# a reference is a few MB (weeks of feature rows), a project has a few live versions.
_CACHED = 16
_cache: OrderedDict[tuple[str, str], pd.DataFrame] = OrderedDict()
_lock = threading.Lock()


def training_reference(registry: Registry, model_name: str, version: str) -> pd.DataFrame | None:
    """The reference frame of ``version`` of ``model_name`` (see the module), or None.
    The frame is shared by every caller in the process (kept for the run's next lookup):
    read it, do not change it."""
    try:
        run: Any = registry.run_of(model_name, version)
    except Exception as exc:  # an unknown version: nothing to compare with
        log.debug("no run for %s v%s: %s", model_name, version, exc)
        return None
    key = (str(registry.project.tracking_uri), str(run.info.run_id))
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    frame = _read_reference(registry, run)
    if frame is None:  # not kept: the run may log it yet, or the store may have failed
        return None
    with _lock:
        _cache[key] = frame
        while len(_cache) > _CACHED:
            _cache.popitem(last=False)
    return frame


def _read_reference(registry: Registry, run: Any) -> pd.DataFrame | None:
    frame = _download(registry, run.info.run_id, REFERENCE_ARTIFACT)
    if frame is not None:
        return frame
    described = json.loads(run.data.tags.get(TAG_PREDICTIONS, "{}") or "{}")
    forecast = described.get("forecast")
    frame = _download(registry, run.info.run_id, PREDICTIONS_ARTIFACT) if forecast else None
    if frame is None or forecast not in frame:
        return None
    return pd.DataFrame({PREDICTION_COLUMN: frame[forecast].to_numpy()})
