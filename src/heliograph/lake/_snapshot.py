"""Snapshots: immutable manifests of a dataset at one moment, with stable ids.

A snapshot lists the dataset's visible files with their partition, row count, size and SHA-256.
Its id is derived from that content (``energy_prices@3f9c0a1b2d4e``): snapshotting unchanged
data gives the same id, and reading a snapshot later returns exactly the same rows however much
data has arrived since, because lake files are never rewritten. Training runs cite snapshot ids
as their lineage.

Example::

    snap = take_snapshot(lake, "energy_prices")
    lake.read("energy_prices", snapshot=snap.id)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heliograph.core import SnapshotError

from ._storage import file_rows, file_sha256, write_text

if TYPE_CHECKING:
    from ._lake import Lake

__all__ = [
    "Snapshot",
    "SnapshotFile",
    "list_snapshots",
    "load_snapshot",
    "newest_snapshot",
    "snapshot_files",
    "take_snapshot",
]


@dataclass(frozen=True)
class SnapshotFile:
    path: str  # relative to the lake root
    partition: str
    rows: int
    bytes: int
    sha256: str


@dataclass(frozen=True)
class Snapshot:
    id: str
    dataset: str
    created_at: str
    rows: int
    files: tuple[SnapshotFile, ...]
    layout: dict[str, Any]
    checks: tuple[str, ...]

    @property
    def partitions(self) -> list[str]:
        return sorted({f.partition for f in self.files})

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["files"] = [asdict(f) for f in self.files]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Snapshot:
        return cls(
            id=data["id"],
            dataset=data["dataset"],
            created_at=data["created_at"],
            rows=data["rows"],
            files=tuple(SnapshotFile(**f) for f in data["files"]),
            layout=data["layout"],
            checks=tuple(data.get("checks", ())),
        )


def _sha256(path: Path) -> str:
    return file_sha256(path)


def _folder(lake: Lake, name: str) -> Path:
    return lake.root / "_snapshots" / name


def list_snapshots(lake: Lake, name: str | None = None) -> list[Snapshot]:
    """Snapshots of one dataset (or all), oldest first."""
    pattern = f"{name}/*.json" if name else "*/*.json"
    snaps = [
        Snapshot.from_dict(json.loads(p.read_text()))
        for p in (lake.root / "_snapshots").glob(pattern)
    ]
    return sorted(snaps, key=lambda s: (s.created_at, s.id))


def load_snapshot(lake: Lake, snapshot_id: str) -> Snapshot:
    name, sep, _ = snapshot_id.partition("@")
    path = _folder(lake, name) / f"{snapshot_id.replace('@', '_')}.json"
    if not sep or not path.is_file():
        known = [s.id for s in list_snapshots(lake, name or None)][-5:]
        raise SnapshotError(
            f"unknown snapshot {snapshot_id!r}",
            field="snapshot",
            rule="an id of the form DATASET@HASH from `helio lake snapshots`",
            hint=("latest: " + ", ".join(known)) if known else None,
        )
    return Snapshot.from_dict(json.loads(path.read_text()))


def take_snapshot(lake: Lake, name: str) -> Snapshot:
    """Record the dataset's visible files as a snapshot (the same data gives the same id).

    Retracted partitions (``_retract``) are left out.
    """
    from ._retract import retracted_partitions  # it reads snapshots: imported when used

    dataset = lake.dataset(name)
    known_hashes = {f.path: f for s in list_snapshots(lake, name) for f in s.files}
    retracted = retracted_partitions(lake, name)
    files = []
    for path in lake.files(name):
        if path.parent.name in retracted:
            continue
        rel = str(path.relative_to(lake.root))
        size = path.stat().st_size
        cached = known_hashes.get(rel)
        sha = cached.sha256 if cached and cached.bytes == size else _sha256(path)
        rows = cached.rows if cached and cached.bytes == size else file_rows(path)
        files.append(SnapshotFile(rel, path.parent.name, rows, size, sha))
    layout = dataset.layout()
    content = json.dumps(
        {"layout": layout, "files": [(f.path, f.sha256) for f in files]}, sort_keys=True
    )
    snapshot_id = f"{name}@{hashlib.sha256(content.encode()).hexdigest()[:12]}"
    path = _folder(lake, name) / f"{snapshot_id.replace('@', '_')}.json"
    if path.is_file():
        return Snapshot.from_dict(json.loads(path.read_text()))
    snap = Snapshot(
        id=snapshot_id,
        dataset=name,
        created_at=lake.clock.now().isoformat(),
        rows=sum(f.rows for f in files),
        files=tuple(files),
        layout=layout,
        checks=tuple(c.label() for c in dataset.checks),
    )
    write_text(path, json.dumps(snap.to_dict(), indent=1))
    return snap


def snapshot_files(
    lake: Lake, snapshot_id: str, name: str | None = None, *, verify: bool = False
) -> list[Path]:
    """The files of a snapshot, after making sure they are still what the manifest says."""
    snap = load_snapshot(lake, snapshot_id)
    if name is not None and snap.dataset != name:
        raise SnapshotError(
            f"snapshot {snapshot_id} is of dataset {snap.dataset}, not {name}",
            field="snapshot",
            rule="the snapshot belongs to the dataset read",
        )
    paths = []
    for f in snap.files:
        path = lake.root / f.path
        if (
            not path.is_file()
            or path.stat().st_size != f.bytes
            or (verify and _sha256(path) != f.sha256)
        ):
            raise SnapshotError(
                f"snapshot {snapshot_id} is damaged: {f.path} is missing or changed",
                file=str(path),
                rule="lake files are never rewritten",
            )
        paths.append(path)
    return paths


def newest_snapshot(lake: Lake, name: str) -> Snapshot | None:
    snaps = list_snapshots(lake, name)
    return snaps[-1] if snaps else None
