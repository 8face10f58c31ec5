"""The lake: append-only, date-partitioned Parquet datasets with snapshots, read through DuckDB.

Example::

    from heliograph.lake import open_lake
    lake = open_lake(project)
    lake.ingest("energy_prices", frame, origin="BE.csv").summary()
"""

from __future__ import annotations

from heliograph.core import Project

from ._check_log import *  # noqa: F403
from ._check_log import __all__ as _check_log_all
from ._dataset import *  # noqa: F403
from ._dataset import Dataset
from ._dataset import __all__ as _dataset_all
from ._ingest import *  # noqa: F403
from ._ingest import __all__ as _ingest_all
from ._lake import *  # noqa: F403
from ._lake import Lake
from ._lake import __all__ as _lake_all
from ._quarantine import *  # noqa: F403
from ._quarantine import __all__ as _quarantine_all
from ._rejects import *  # noqa: F403
from ._rejects import __all__ as _rejects_all
from ._snapshot import *  # noqa: F403
from ._snapshot import __all__ as _snapshot_all
from ._sources import *  # noqa: F403
from ._sources import __all__ as _sources_all


def open_lake(project: Project) -> Lake:
    """The project's lake, with the datasets its configuration declares, on its clock."""
    datasets = [
        Dataset.from_settings(name, spec) for name, spec in project.settings.datasets.items()
    ]
    return Lake(project.lake_path, datasets, clock=project.clock())


__all__ = sorted(
    [
        *_check_log_all,
        *_dataset_all,
        *_ingest_all,
        *_lake_all,
        *_quarantine_all,
        *_rejects_all,
        *_snapshot_all,
        *_sources_all,
        "open_lake",
    ]
)
