"""Lineage: from a prediction back to its data and code, and from data forward to its users.

Backward, a prediction (its record id or request id) leads to the model version that made
it, the MLflow run that trained that version, the snapshots the run read and their check
results, the code commit and the environment. Forward, a snapshot (or a partition
``dataset/date=YYYY-MM-DD``, through every snapshot holding it) leads to every run, version
and prediction that used it, and to the aliases those versions hold now.

Everything comes from the ledger: the ``model_registered`` event keeps the version's run id
and lineage tags, ``alias_moved`` events say who holds which alias, the predictions table
counts what each version answered. So lineage still works when the MLflow server is gone.
With ``mlflow=True`` the tracking store adds what the ledger never saw: candidate runs that
were not registered, and versions registered before their events kept lineage.

Example::

    found = lineage(project, "3f2a9c…")          # a prediction's record id
    found.version.run_id, found.version.commit, [s.id for s in found.snapshots]
    used = lineage(project, "energy_prices@3f9c0a1b2d4e")
    [(v.model, v.version, v.aliases, v.predictions) for v in used.versions]
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from heliograph.core import Project, UsageError
from heliograph.lake import (
    Lake,
    is_tainted,
    list_snapshots,
    open_lake,
    parse_partition,
)
from heliograph.ledger import Ledger, find_predictions, predictions_per_version
from heliograph.tracking import (
    TAG_CHECKS,
    TAG_CHECKS_PASSED,
    TAG_FEATURE_VIEW,
    TAG_GIT_COMMIT,
    TAG_GIT_DIRTY,
    TAG_SNAPSHOTS,
    TAG_VERSIONS,
)

__all__ = [
    "DataUsage",
    "PredictionLineage",
    "SnapshotLineage",
    "VersionLineage",
    "lineage",
    "usage_of",
    "version_lineages",
]

_EVENTS = 100_000  # registrations and alias moves read back (a project has far fewer)
_ID_RULE = (
    "a prediction's record id or request id, a snapshot id DATASET@HASH, "
    "or a partition DATASET/date=YYYY-MM-DD"
)


@dataclass
class VersionLineage:
    """A registered model version and what made it."""

    model: str
    version: str
    run_id: str
    registered_at: datetime | None
    snapshots: list[str]
    checks_passed: bool | None
    checks: dict[str, Any]
    commit: str
    dirty: bool | None
    feature_view: str
    environment: dict[str, str]
    aliases: list[str] = field(default_factory=list)
    predictions: int = 0
    source: str = "ledger"  # or "mlflow": where the lineage was read


@dataclass
class SnapshotLineage:
    """A snapshot a run read: its size, its checks in that run, and whether it is retracted."""

    id: str
    rows: int | None
    partitions: list[str]
    checks: dict[str, Any]
    retracted: list[str]


@dataclass
class PredictionLineage:
    """A prediction, the version that made it, and the data that version was trained on."""

    prediction: dict[str, Any]
    version: VersionLineage | None
    snapshots: list[SnapshotLineage]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "prediction", **_plain(asdict(self))}


@dataclass
class DataUsage:
    """Who used a snapshot or partition: runs, versions (with aliases), predictions."""

    target: str
    snapshots: list[str]
    runs: list[str]
    versions: list[VersionLineage]
    predictions: int
    complete: bool  # False when only the ledger was read (unregistered runs are missing)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "data", **_plain(asdict(self))}


def _plain(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_plain(v) for v in data]
    return data.isoformat() if isinstance(data, datetime) else data


def _bool(text: str | None) -> bool | None:
    return None if text is None else text == "true"


def _from_tags(
    model: str, version: str, run_id: str, tags: dict[str, str], at: datetime | None, source: str
) -> VersionLineage:
    snapshots = [s for s in tags.get(TAG_SNAPSHOTS, "").split(",") if s]
    try:
        checks = json.loads(tags.get(TAG_CHECKS, "{}"))
    except json.JSONDecodeError:  # clipped at 5,000 characters by the tracking tags
        checks = {}
    try:
        environment = json.loads(tags.get(TAG_VERSIONS, "{}"))
    except json.JSONDecodeError:
        environment = {}
    return VersionLineage(
        model=model,
        version=version,
        run_id=run_id,
        registered_at=at,
        snapshots=snapshots,
        checks_passed=_bool(tags.get(TAG_CHECKS_PASSED)),
        checks=checks,
        commit=tags.get(TAG_GIT_COMMIT, "unknown"),
        dirty=_bool(tags.get(TAG_GIT_DIRTY)),
        feature_view=tags.get(TAG_FEATURE_VIEW, ""),
        environment=environment,
        source=source,
    )


def _aliases(ledger: Ledger) -> dict[tuple[str, str], list[str]]:
    """``{(model, version): [alias, …]}`` now, replayed from the ``alias_moved`` events."""
    holder: dict[tuple[str, str], str | None] = {}
    for event in reversed(ledger.events(kind="alias_moved", limit=_EVENTS)):
        model = event.subject.removeprefix("model/")
        holder[(model, event.details.get("alias", ""))] = event.details.get("to")
    held: dict[tuple[str, str], list[str]] = {}
    for (model, alias), version in sorted(holder.items()):
        if version is not None:
            held.setdefault((model, str(version)), []).append(alias)
    return held


def version_lineages(ledger: Ledger) -> dict[tuple[str, str], VersionLineage]:
    """Every registered version whose ``model_registered`` event keeps its lineage."""
    found: dict[tuple[str, str], VersionLineage] = {}
    held = _aliases(ledger)
    for event in reversed(ledger.events(kind="model_registered", limit=_EVENTS)):
        details = event.details
        if "run_id" not in details:
            continue  # registered before registrations kept lineage: MLflow knows it
        model, version = event.subject.removeprefix("model/"), str(details["version"])
        found[(model, version)] = _from_tags(
            model, version, details["run_id"], details.get("tags", {}), event.at, "ledger"
        )
        found[(model, version)].aliases = held.get((model, version), [])
    return found


def _from_mlflow(project: Project, model: str, version: str) -> VersionLineage | None:
    from mlflow.exceptions import MlflowException

    from ._registry import Registry

    try:
        run = Registry(project).run_of(model, version)
    except MlflowException:
        return None
    return _from_tags(model, version, run.info.run_id, dict(run.data.tags), None, "mlflow")


def _snapshot(lake: Lake, snapshot_id: str, checks: dict[str, Any]) -> SnapshotLineage:
    known = {s.id: s for s in list_snapshots(lake, snapshot_id.partition("@")[0])}
    snap = known.get(snapshot_id)
    dataset_checks = checks.get(snapshot_id.partition("@")[0], {})
    return SnapshotLineage(
        id=snapshot_id,
        rows=snap.rows if snap else None,
        partitions=snap.partitions if snap else [],
        checks=dataset_checks if isinstance(dataset_checks, dict) else {},
        retracted=is_tainted(lake, snap) if snap else [],
    )


def _prediction(project: Project, ident: str, mlflow: bool) -> PredictionLineage | None:
    records = find_predictions(project.ledger_url, ident)
    if not records:
        return None
    # a request answered by the champion and shadowed by the challenger: the answer given
    record = next((r for r in records if r.role == "champion"), records[0])
    ledger = Ledger(project.ledger_url)
    key = (record.model_name, record.model_version)
    version = version_lineages(ledger).get(key)
    if version is None and mlflow:
        version = _from_mlflow(project, *key)
        if version is not None:
            version.aliases = _aliases(ledger).get(key, [])
    if version is not None:
        version.predictions = predictions_per_version(project.ledger_url, [key])[key]
    row = record.to_row()
    shown = ("record_id", "request_id", "service", "role", "at", "as_of", "outputs")
    lake = open_lake(project)
    snapshots = [_snapshot(lake, s, version.checks) for s in version.snapshots] if version else []
    return PredictionLineage({k: row[k] for k in shown}, version, snapshots)


def usage_of(
    project: Project, target: str, *, mlflow: bool = True, argument: str = "ID"
) -> DataUsage:
    """Every run, version and prediction that used a snapshot or a partition.

    ``argument``: the name an unknown ``target`` is reported under.
    """
    lake = open_lake(project)
    partition = parse_partition(target)
    if partition is not None:
        dataset, part = partition
        lake.dataset(dataset)
        snapshots = [s.id for s in list_snapshots(lake, dataset) if part in s.partitions]
        if not snapshots and not (lake.root / dataset / part).is_dir():
            raise UsageError(f"no partition {target!r} in the lake", field=argument, rule=_ID_RULE)
    else:
        dataset = target.partition("@")[0]
        if dataset not in lake.dataset_names() or target not in {
            s.id for s in list_snapshots(lake, dataset)
        }:
            raise UsageError(f"unknown snapshot {target!r}", field=argument, rule=_ID_RULE)
        snapshots = [target]
    ledger = Ledger(project.ledger_url)
    versions = [v for v in version_lineages(ledger).values() if set(v.snapshots) & set(snapshots)]
    counts = predictions_per_version(project.ledger_url, [(v.model, v.version) for v in versions])
    for v in versions:
        v.predictions = counts[(v.model, v.version)]
    runs = sorted({v.run_id for v in versions})
    complete = False
    if mlflow:
        found = _runs_reading(project, snapshots)
        if found is not None:
            runs, complete = sorted(set(runs) | found), True
    return DataUsage(
        target=target,
        snapshots=snapshots,
        runs=runs,
        versions=sorted(versions, key=lambda v: (v.model, int(v.version))),
        predictions=sum(counts.values()),
        complete=complete,
    )


def _runs_reading(project: Project, snapshots: list[str]) -> set[str] | None:
    """The MLflow runs whose lineage names one of ``snapshots``; None without a store."""
    from mlflow.exceptions import MlflowException

    from heliograph.tracking import mlflow_client

    try:
        client = mlflow_client(project)
        experiments = [e.experiment_id for e in client.search_experiments()]
        found: set[str] = set()
        for snapshot_id in snapshots:
            for run in client.search_runs(
                experiments, filter_string=f"tags.`{TAG_SNAPSHOTS}` LIKE '%{snapshot_id}%'"
            ):
                found.add(run.info.run_id)
    except (MlflowException, OSError):
        return None
    return found


def lineage(project: Project, ident: str, *, mlflow: bool = True) -> PredictionLineage | DataUsage:
    """The lineage of a prediction id, or the usage of a snapshot id or partition."""
    ident = ident.strip()
    if not ident:
        raise UsageError("an id is needed", field="ID", rule=_ID_RULE)
    if "@" in ident or parse_partition(ident) is not None:
        return usage_of(project, ident, mlflow=mlflow)
    found = _prediction(project, ident, mlflow)
    if found is None:
        raise UsageError(
            f"no prediction with record or request id {ident!r} in the ledger",
            field="ID",
            rule=_ID_RULE,
        )
    return found
