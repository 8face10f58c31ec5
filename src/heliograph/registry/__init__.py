"""The model registry: roles by alias (champion, challenger, previous), policy, history.

Example::

    from heliograph.registry import Registry
    Registry(project).promote("model-a", reason="weekly retrain")
"""

from __future__ import annotations

from ._lineage import (
    DataUsage,
    PredictionLineage,
    SnapshotLineage,
    VersionLineage,
    lineage,
    usage_of,
    version_lineages,
)
from ._registry import (
    CHALLENGER,
    CHAMPION,
    PREDICTIONS_ARTIFACT,
    PREVIOUS,
    REFERENCE_ARTIFACT,
    TAG_METRICS,
    TAG_PREDICTIONS,
    TAG_RESCORES,
    TAG_WINDOW,
    Decision,
    Registry,
    RegistryError,
    format_change,
    metric_key,
    relative_change,
)
from ._retraction import retract_data

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "PREDICTIONS_ARTIFACT",
    "PREVIOUS",
    "REFERENCE_ARTIFACT",
    "TAG_METRICS",
    "TAG_PREDICTIONS",
    "TAG_RESCORES",
    "TAG_WINDOW",
    "DataUsage",
    "Decision",
    "PredictionLineage",
    "Registry",
    "RegistryError",
    "SnapshotLineage",
    "VersionLineage",
    "format_change",
    "lineage",
    "metric_key",
    "relative_change",
    "retract_data",
    "usage_of",
    "version_lineages",
]
