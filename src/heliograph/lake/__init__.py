"""The lake: append-only, date-partitioned Parquet datasets with snapshots, read through DuckDB.

Example::

    from heliograph.lake import open_lake
    lake = open_lake(project)
    lake.ingest("energy_prices", frame, origin="BE.csv").summary()
"""

from __future__ import annotations

from heliograph.core import Project

from ._check_log import CheckTally, append_check_log, check_tally, latest_results, read_check_log
from ._dataset import Dataset
from ._ingest import IngestResult, ingest_batch
from ._lake import Lake, PartitionInfo
from ._quarantine import QuarantineEntry, render_markdown, write_reports
from ._rejects import (
    REJECTED_COLUMNS,
    ingest_frames,
    quarantine_rejected,
    rejected_frame,
    rejected_key,
)
from ._retract import (
    Retraction,
    is_tainted,
    list_retractions,
    parse_partition,
    retract,
    retracted_partitions,
)
from ._snapshot import (
    Snapshot,
    SnapshotFile,
    list_snapshots,
    load_snapshot,
    newest_snapshot,
    snapshot_files,
    take_snapshot,
)
from ._sources import (
    Batch,
    FileSource,
    ReplaySource,
    Source,
    available_formats,
    make_source,
    read_file,
)
from ._storage import is_remote, lake_root, register_filesystem


def open_lake(project: Project) -> Lake:
    """The project's lake, with the datasets its configuration declares, on its clock."""
    datasets = [
        Dataset.from_settings(name, spec) for name, spec in project.settings.datasets.items()
    ]
    return Lake(project.settings.lake.uri or project.lake_path, datasets, clock=project.clock())


__all__ = [
    "REJECTED_COLUMNS",
    "Batch",
    "CheckTally",
    "Dataset",
    "FileSource",
    "IngestResult",
    "Lake",
    "PartitionInfo",
    "QuarantineEntry",
    "ReplaySource",
    "Retraction",
    "Snapshot",
    "SnapshotFile",
    "Source",
    "append_check_log",
    "available_formats",
    "check_tally",
    "ingest_batch",
    "ingest_frames",
    "is_remote",
    "is_tainted",
    "lake_root",
    "latest_results",
    "list_retractions",
    "list_snapshots",
    "load_snapshot",
    "make_source",
    "newest_snapshot",
    "open_lake",
    "parse_partition",
    "quarantine_rejected",
    "read_check_log",
    "read_file",
    "register_filesystem",
    "rejected_frame",
    "rejected_key",
    "render_markdown",
    "retract",
    "retracted_partitions",
    "snapshot_files",
    "take_snapshot",
    "write_reports",
]
