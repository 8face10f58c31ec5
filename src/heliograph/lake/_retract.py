"""Retractions: data marked bad after the fact, without rewriting anything.

Snapshots stay immutable. A retraction is a small JSON record in ``<lake>/_retractions/``
naming a snapshot (``energy_prices@3f9c0a1b2d4e``) or a partition
(``energy_prices/date=2025-06-01``), with who, why and when. What it means:

- a retracted snapshot, and any snapshot holding a retracted partition, is *tainted*: training
  refuses it when it is named, and takes a new snapshot instead of the newest when that is
  tainted;
- retracting a snapshot retracts the partitions it added (the ones with a file that its
  predecessor did not list; all of its partitions if it is the dataset's first);
- the next snapshot leaves the retracted partitions out ("retrain without it").

Example::

    retraction = retract(lake, "energy_prices@3f9c0a1b2d4e", reason="the feed doubled prices")
    retraction.partitions
    # ['energy_prices/date=2025-06-01']
    retracted_partitions(lake, "energy_prices")
    # {'date=2025-06-01'}
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from heliograph.core import SnapshotError

from ._snapshot import Snapshot, list_snapshots, load_snapshot
from ._storage import write_text

if TYPE_CHECKING:
    from ._lake import Lake

__all__ = [
    "Retraction",
    "is_tainted",
    "list_retractions",
    "parse_partition",
    "retract",
    "retracted_partitions",
]

_PARTITION = re.compile(r"^(?P<dataset>[^/@]+)/(?P<partition>date=\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class Retraction:
    """One retraction: its target (a snapshot or a partition) and the partitions it takes out."""

    target: str
    kind: str  # "snapshot" or "partition"
    dataset: str
    partitions: tuple[str, ...]  # DATASET/date=YYYY-MM-DD
    reason: str
    actor: str
    at: str


def parse_partition(target: str) -> tuple[str, str] | None:
    """``(dataset, "date=YYYY-MM-DD")`` of ``dataset/date=YYYY-MM-DD``, else None."""
    found = _PARTITION.match(target.strip())
    return (found["dataset"], found["partition"]) if found else None


def list_retractions(lake: Lake, dataset: str | None = None) -> list[Retraction]:
    """Every retraction (of one dataset, or all), oldest first."""
    folder = lake.root / "_retractions"
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("*.json"):
        data = json.loads(path.read_text())
        data["partitions"] = tuple(data["partitions"])
        found.append(Retraction(**data))
    return sorted((r for r in found if dataset is None or r.dataset == dataset), key=lambda r: r.at)


def retracted_partitions(lake: Lake, dataset: str) -> set[str]:
    """The retracted partitions of ``dataset``, as ``date=YYYY-MM-DD``."""
    return {p.split("/", 1)[1] for r in list_retractions(lake, dataset) for p in r.partitions}


def is_tainted(lake: Lake, snapshot: Snapshot) -> list[str]:
    """Why training must not read ``snapshot``: empty when it may."""
    why = []
    retractions = list_retractions(lake, snapshot.dataset)
    if any(r.target == snapshot.id for r in retractions):
        why.append(f"{snapshot.id} is retracted")
    bad = sorted(set(snapshot.partitions) & retracted_partitions(lake, snapshot.dataset))
    if bad:
        why.append(f"it holds retracted partitions {', '.join(bad)}")
    return why


def _added(lake: Lake, snap: Snapshot) -> list[str]:
    """The partitions ``snap`` added to its dataset: a file its predecessor did not list."""
    earlier = [s for s in list_snapshots(lake, snap.dataset) if s.created_at < snap.created_at]
    before = {f.path for f in earlier[-1].files} if earlier else set()
    return sorted({f.partition for f in snap.files if f.path not in before})


def retract(lake: Lake, target: str, *, reason: str, actor: str) -> Retraction:
    """Record a retraction of a snapshot id or a ``dataset/date=YYYY-MM-DD`` partition."""
    if not reason.strip():
        raise SnapshotError(
            "a retraction needs a reason",
            field="--reason",
            rule="say what is wrong with the data",
        )
    partition = parse_partition(target)
    parts: tuple[str, ...]
    if partition is not None:
        dataset, part = partition
        lake.dataset(dataset)  # an unknown dataset is an error naming it
        if not (lake.root / dataset / part).is_dir():
            raise SnapshotError(
                f"no partition {target!r} in the lake",
                field="SNAPSHOT",
                rule="a snapshot id DATASET@HASH or a partition DATASET/date=YYYY-MM-DD",
            )
        kind, parts = "partition", (f"{dataset}/{part}",)
    else:
        if "@" not in target:
            raise SnapshotError(
                f"{target!r} is neither a snapshot nor a partition",
                field="SNAPSHOT",
                rule="a snapshot id DATASET@HASH or a partition DATASET/date=YYYY-MM-DD",
            )
        snap = load_snapshot(lake, target)
        dataset, kind = snap.dataset, "snapshot"
        parts = tuple(f"{dataset}/{p}" for p in _added(lake, snap))
    retraction = Retraction(
        target=target,
        kind=kind,
        dataset=dataset,
        partitions=parts,
        reason=reason.strip(),
        actor=actor,
        at=lake.clock.now().isoformat(),
    )
    name = hashlib.sha256(f"{target}|{retraction.at}".encode()).hexdigest()[:16]
    write_text(lake.root / "_retractions" / f"{name}.json", json.dumps(asdict(retraction)))
    return retraction
