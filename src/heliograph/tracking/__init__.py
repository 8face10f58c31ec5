"""Experiment tracking (MLflow) with lineage: snapshots, checks, code, environment.

>>> from heliograph.tracking import lineage_tags, tracked_run
"""

from __future__ import annotations

from ._tracking import (
    TAG_CHECKS,
    TAG_CHECKS_PASSED,
    TAG_FEATURE_VIEW,
    TAG_GIT_COMMIT,
    TAG_GIT_DIRTY,
    TAG_SNAPSHOTS,
    TAG_VERSIONS,
    TrackingError,
    artifact_location,
    git_state,
    lineage_tags,
    mlflow_client,
    package_versions,
    tracked_run,
)

__all__ = [
    "TAG_CHECKS",
    "TAG_CHECKS_PASSED",
    "TAG_FEATURE_VIEW",
    "TAG_GIT_COMMIT",
    "TAG_GIT_DIRTY",
    "TAG_SNAPSHOTS",
    "TAG_VERSIONS",
    "TrackingError",
    "artifact_location",
    "git_state",
    "lineage_tags",
    "mlflow_client",
    "package_versions",
    "tracked_run",
]
