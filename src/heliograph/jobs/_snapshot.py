"""The ``snapshot`` job: an immutable snapshot of every dataset, a new one recorded as an event.

Example::

    [s.id for s in snapshot(project)]
    # ['energy_prices@3f9c0a1b2d4e', ...]
"""

from __future__ import annotations

from collections.abc import Sequence

from heliograph.core import Project
from heliograph.lake import Snapshot, list_snapshots, open_lake, take_snapshot
from heliograph.ledger import Ledger

from ._job import job

__all__ = ["snapshot"]


@job(
    "snapshot",
    "record an immutable snapshot of every dataset",
    schedule="0 * * * *",  # after each ingest; a new id only when the data changed
    retries=2,
    after=("ingest", "materialize"),
    lines=lambda taken: [
        f"snapshot {s.id}: {s.rows:,} rows in {len(s.partitions)} partitions" for s in taken
    ],
)
def snapshot(
    project: Project, datasets: Sequence[str] | None = None, *, ledger: Ledger | None = None
) -> list[Snapshot]:
    """Snapshot each dataset (or the ones named); a new snapshot is recorded as an event."""
    lake = open_lake(project)
    ledger = ledger or Ledger(project.ledger_url)
    taken = []
    for name in datasets or lake.dataset_names():
        before = {s.id for s in list_snapshots(lake, name)}
        snap = take_snapshot(lake, name)
        if snap.id not in before:
            ledger.record(
                "snapshot_taken",
                snap.id,
                f"{snap.rows} rows in {len(snap.partitions)} partitions",
                details={"files": len(snap.files)},
            )
        taken.append(snap)
    return taken
