"""Experiment tracking with MLflow, and the lineage every run carries.

A run records its parameters, metrics, plots and model, and tags that lead from any model
version back to the data and code that made it: the snapshot ids it read, the result of the
checks on them, the git commit (and whether the tree was dirty), the feature view, and the
versions of the packages that matter.

Example::

    with tracked_run(project, "energy-GB", "lear", tags=lineage) as run:
        mlflow.log_metric("backtest_mae", 4.2)

MLflow is imported only when a run starts (importing it takes ~1.7 s). Its tracking URI is set
for the duration of the run and restored afterwards; importing heliograph never sets it.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from heliograph.core import HelioError, Project, progress_enabled

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

TAG_SNAPSHOTS = "helio.snapshots"
TAG_CHECKS = "helio.checks"
TAG_CHECKS_PASSED = "helio.checks.passed"
TAG_GIT_COMMIT = "helio.git.commit"
TAG_GIT_DIRTY = "helio.git.dirty"
TAG_FEATURE_VIEW = "helio.feature_view"
TAG_VERSIONS = "helio.versions"
_PACKAGES = (
    "heliograph",
    "mlflow",
    "pandas",
    "numpy",
    "scikit-learn",
    "lightgbm",
    "duckdb",
    "pyarrow",
)


class TrackingError(HelioError):
    """The tracking server or store cannot do what was asked."""


def git_state(root: Path) -> tuple[str, bool]:
    """(commit, dirty) of the git work tree holding ``root``; ("unknown", False) outside one."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown", False
    return commit, bool(status.strip())


def package_versions(names: Sequence[str] = _PACKAGES) -> dict[str, str]:
    found = {}
    for name in names:
        with contextlib.suppress(PackageNotFoundError):
            found[name] = version(name)
    return found


def lineage_tags(
    root: Path,
    *,
    snapshots: Sequence[str],
    checks: Mapping[str, Any],
    checks_passed: bool,
    feature_view: str,
) -> dict[str, str]:
    """The tags that tie a run to its data, checks, code and environment."""
    commit, dirty = git_state(root)
    return {
        TAG_SNAPSHOTS: ",".join(snapshots),
        TAG_CHECKS: json.dumps(checks, sort_keys=True)[:5000],
        TAG_CHECKS_PASSED: str(checks_passed).lower(),
        TAG_GIT_COMMIT: commit,
        TAG_GIT_DIRTY: str(dirty).lower(),
        TAG_FEATURE_VIEW: feature_view,
        TAG_VERSIONS: json.dumps(package_versions(), sort_keys=True),
    }


def _quiet_mlflow() -> None:
    """No MLflow progress bars unless heliograph shows its own."""
    if not progress_enabled():
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def artifact_location(project: Project, experiment: str) -> str | None:
    """Where a new experiment keeps its files.

    ``tracking.artifacts`` when set: a URI (``s3://bucket/prefix``, ``gs://…``) as is, a path
    as a local folder. Unset: the state folder for the embedded store, and the tracking
    server's own default store for a server (never a folder on the machine that trained).
    """
    configured = project.settings.tracking.artifacts
    if "://" in configured:
        return f"{configured.rstrip('/')}/{experiment}"
    if configured or not project.settings.tracking.uri:
        location = (project.artifacts_dir / experiment).resolve()
        location.mkdir(parents=True, exist_ok=True)
        return location.as_uri()
    return None


def mlflow_client(project: Project) -> Any:
    """An MlflowClient on the project's tracking store and registry."""
    from mlflow.tracking import MlflowClient

    _quiet_mlflow()
    project.state_dir.mkdir(parents=True, exist_ok=True)
    return MlflowClient(tracking_uri=project.tracking_uri, registry_uri=project.tracking_uri)


@contextlib.contextmanager
def tracked_run(
    project: Project, experiment: str, run_name: str, *, tags: Mapping[str, str] | None = None
) -> Iterator[Any]:
    """An MLflow run in ``experiment`` (created with its artefacts in the project's store)."""
    import mlflow

    _quiet_mlflow()
    project.state_dir.mkdir(parents=True, exist_ok=True)
    previous = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
    mlflow.set_tracking_uri(project.tracking_uri)
    mlflow.set_registry_uri(project.tracking_uri)
    try:
        client = mlflow.tracking.MlflowClient()
        found = client.get_experiment_by_name(experiment)
        if found is None:
            experiment_id = client.create_experiment(
                experiment, artifact_location=artifact_location(project, experiment)
            )
        else:
            experiment_id = found.experiment_id
        with mlflow.start_run(
            experiment_id=experiment_id, run_name=run_name, tags=dict(tags or {})
        ) as run:
            yield run
    finally:
        if previous is not None:
            mlflow.set_tracking_uri(previous)
