"""The ``report`` job: an HTML data report per dataset, its newest partition against history.

Example::

    report(project)
    # [PosixPath('.helio/reports/data/energy_prices/2025-06-08.html'), ...]
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from heliograph.core import Project
from heliograph.lake import Lake, open_lake

from ._job import job

__all__ = ["report"]


def _group_column(
    frame: pd.DataFrame, key: Sequence[str], time_column: str, columns: dict[str, str]
) -> str | None:
    groups = [k for k in key if k != time_column and columns.get(k) == "string"]
    if not groups:
        return None
    if len(groups) > 1:  # one group per combination, named after the columns: "market/variable"
        name = "/".join(groups)
        first, *rest = (frame[g].astype(str) for g in groups)
        frame[name] = first.str.cat(rest, sep="/")
        return name
    return groups[0]


@job(
    "report",
    "write an HTML data report per dataset (newest partition vs recent history)",
    schedule="0 0 * * *",
    retries=1,
    after=("snapshot",),
    lines=lambda written: [f"report {path}" for path in written],
)
def report(
    project: Project,
    datasets: Sequence[str] | None = None,
    *,
    history_days: int = 28,
    out_dir: Path | None = None,
) -> list[Path]:
    """Write an HTML data report per dataset: its newest partition against recent history."""
    from heliograph.reports import write_data_report

    lake = open_lake(project)
    out_dir = out_dir or project.state_dir / "reports" / "data"
    written = []
    for name in datasets or lake.dataset_names():
        ds = lake.dataset(name)
        parts = lake.partitions(name)
        latest_date = parts[-1].date if parts else None
        where = None
        if latest_date:
            start = pd.Timestamp(latest_date) - timedelta(days=history_days)
            where = f"\"{ds.time_column}\" >= '{start.date()}'"
        frame = lake.read(name, where=where)  # typed, even when the dataset is empty
        group = _group_column(frame, ds.key, ds.time_column, dict(ds.columns))
        # What a person compares: the values, by group; not the other key parts, nor
        # bookkeeping times such as available_at (every new day is "new" there).
        keep = [
            c
            for c in frame.columns
            if c in (ds.time_column, group)
            or (c not in ds.key and ds.columns.get(c) != "timestamp")
        ]
        frame = frame[keep]
        day = frame[ds.time_column].dt.strftime("%Y-%m-%d")
        latest, history = frame[day == latest_date], frame[day != latest_date]
        checks = _latest_checks(lake, name, latest_date)
        path = out_dir / name / f"{latest_date or 'empty'}.html"
        write_data_report(
            path,
            dataset=name,
            latest=latest,
            history=history,
            time_column=ds.time_column,
            latest_label=f"date={latest_date}" if latest_date else "no partitions yet",
            group_column=group,
            check_results=checks,
        )
        written.append(path)
    return written


def _latest_checks(lake: Lake, name: str, date: str | None) -> list[dict[str, Any]] | None:
    if date is None:
        return None
    entries = [e for e in lake.check_log(name) if e["partition"] == f"date={date}"]
    return entries[-1]["results"] if entries else None
