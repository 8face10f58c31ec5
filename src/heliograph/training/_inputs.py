"""What a training run reads: a snapshot of each dataset of the feature view, and their checks.

Example::

    snapshots = resolve_snapshots(lake, ("prices", "weather"), ["prices@3f9c0a1b2d4e"])
    passed, summary = check_snapshots(lake, snapshots)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import pyarrow as pa

from heliograph.checks import run_checks, unique
from heliograph.core import DataError, UsageError, get_logger
from heliograph.lake import Lake, is_tainted, load_snapshot, newest_snapshot, take_snapshot

__all__ = ["check_snapshots", "resolve_snapshots"]

log = get_logger(__name__)


def resolve_snapshots(lake: Lake, datasets: Sequence[str], given: Sequence[str]) -> dict[str, str]:
    """The snapshot to read of each dataset: the one given, else the newest (taken if none).

    A retracted snapshot, or one holding a retracted partition, is refused when given; when
    it is the newest, a new snapshot is taken without the retracted partitions.
    """
    chosen: dict[str, str] = {}
    for snapshot_id in given:
        snap = load_snapshot(lake, snapshot_id)
        why = is_tainted(lake, snap)
        if why:
            raise DataError(
                f"snapshot {snapshot_id} cannot be trained on: {'; '.join(why)}",
                field="--snapshot",
                rule="training reads no retracted data (`helio lake retract`)",
                hint="omit --snapshot: training then snapshots the data without it",
            )
        if snap.dataset not in datasets:
            raise UsageError(
                f"snapshot {snapshot_id} is of {snap.dataset}, which these models do not read",
                field="--snapshot",
                rule="snapshots of " + " and ".join(datasets),
            )
        chosen[snap.dataset] = snap.id
    for name in datasets:
        if name not in chosen:
            snap = newest_snapshot(lake, name) or take_snapshot(lake, name)
            why = is_tainted(lake, snap)
            if why:
                skipped, snap = snap.id, take_snapshot(lake, name)
                log.warning("skipped %s (%s): reading %s", skipped, "; ".join(why), snap.id)
            chosen[name] = snap.id
    return chosen


def check_snapshots(lake: Lake, snapshots: dict[str, str]) -> tuple[bool, dict[str, Any]]:
    """Run each dataset's blocking checks over the snapshot: lineage, and a gate."""
    summary: dict[str, Any] = {}
    passed = True
    for name, snapshot_id in snapshots.items():
        dataset = lake.dataset(name)
        frame = lake.read(name, snapshot=snapshot_id)
        checks = [
            unique(*dataset.key),
            *[c for c in dataset.checks if c.scope == "partition" and c.severity == "error"],
        ]
        if frame.empty:
            summary[name] = {"snapshot": snapshot_id, "partitions": 0, "failed": {}}
            continue
        frame["__partition"] = frame[dataset.time_column].dt.strftime("%Y-%m-%d")
        table = pa.Table.from_pydict(
            {c: _arrow(frame[c]) for c in [*_columns(checks, dataset.key), "__partition"]}
        )
        verdicts = run_checks(table, "__partition", checks)
        failed: dict[str, int] = {}
        for results in verdicts.values():
            for r in results:
                if r.blocking:
                    failed[r.check] = failed.get(r.check, 0) + 1
        passed &= not failed
        summary[name] = {
            "snapshot": snapshot_id,
            "partitions": len(verdicts),
            "checks": [c.label() for c in checks],
            "failed": failed,
        }
    return passed, summary


def _arrow(column: pd.Series) -> Any:
    """A column for Arrow: times with a zone as they are (their ``to_numpy`` is an object
    array of Timestamps, ~3 s per column of a year's prices), others as NumPy."""
    dtype = column.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        utc = column.dt.tz_convert(None).to_numpy()
        return pa.array(utc, type=pa.timestamp(dtype.unit, tz=str(dtype.tz)))
    return column.to_numpy()


def _columns(checks: Sequence[Any], key: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*key, *(c for check in checks for c in check.columns_used())]))
