"""Ingest: a batch of rows into a lake dataset, judged and published partition by partition.

Every batch is converted to the dataset's columns, rows whose key the lake already holds are
skipped (identical) or quarantined (same key, other values: the lake never rewrites a row),
every partition is judged by the dataset's checks, and each partition's rows are then published
with one atomic rename, or quarantined with a report. A crash at any point leaves either the
whole partition file visible or none of it.

Example::

    result = ingest_batch(lake, "energy_prices", frame, origin="BE.csv")   # or lake.ingest(...)
    result.rows_written, result.rows_duplicate, len(result.quarantined)
    # (52416, 0, 0)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from heliograph.checks import CheckResult, conform, run_checks, to_arrow, unique
from heliograph.core import duck_connect

from ._check_log import append_check_log
from ._dataset import Dataset
from ._quarantine import QuarantineEntry, write_reports
from ._storage import file_rows, lock, publish_table, register_filesystem, write_parquet

if TYPE_CHECKING:
    from ._lake import Lake

__all__ = ["IngestResult", "ingest_batch"]

_PART = "__partition"
_ROW = "__row"


@dataclass
class IngestResult:
    """What one ingest did: rows in, written, skipped as duplicates, and what was quarantined."""

    dataset: str
    origin: str
    rows_in: int = 0
    rows_written: int = 0
    rows_duplicate: int = 0
    partitions_written: list[str] = field(default_factory=list)
    quarantined: list[QuarantineEntry] = field(default_factory=list)
    warnings: list[tuple[str, CheckResult]] = field(default_factory=list)

    @property
    def rows_quarantined(self) -> int:
        return sum(e.rows for e in self.quarantined)

    @property
    def ok(self) -> bool:
        return not self.quarantined

    def summary(self) -> str:
        text = (
            f"{self.dataset} from {self.origin}: {self.rows_in} rows in, "
            f"{self.rows_written} written to {len(self.partitions_written)} partitions, "
            f"{self.rows_duplicate} already in the lake"
        )
        if self.quarantined:
            text += f", {self.rows_quarantined} quarantined in {len(self.quarantined)} partitions"
        return text


def _write_parquet(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path`` and make it durable (separate so tests can crash it)."""
    write_parquet(table, path)


def _content_hash(table: pa.Table) -> str:
    """A hash of the rows' values (not of their memory layout): equal rows, equal hash."""
    digest = hashlib.sha256(",".join(table.column_names).encode())
    row_hashes = pd.util.hash_pandas_object(table.to_pandas(), index=False)
    digest.update(row_hashes.to_numpy().tobytes())
    return digest.hexdigest()


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _publish(lake: Lake, table: pa.Table, target: Path) -> None:
    """Write ``table`` to a staging file, then rename it to ``target`` in one step."""
    publish_table(lake.root, table, target, lambda t, p: _write_parquet(t, p))


def ingest_batch(
    lake: Lake,
    name: str,
    frame: pd.DataFrame,
    *,
    origin: str,
    reference: Callable[[str, str], np.ndarray | None] | None = None,
) -> IngestResult:
    """Take in a batch of rows for dataset ``name``; ``origin`` says where they came from."""
    dataset = lake.dataset(name)
    result = IngestResult(name, origin, rows_in=len(frame))
    if frame.empty:
        return result
    now = lake.clock.now()
    with lock(lake.root, name):
        dataset.write_layout(lake.root / name)
        table, schema_result = conform(frame, dataset.columns)
        if table is None:
            raw = pa.table(
                {str(c): to_arrow(frame[c].astype("string"), pa.string()) for c in frame.columns}
            )
            result.quarantined.append(
                _quarantine(lake, dataset, raw, "unpartitioned", origin, [schema_result], now)
            )
            return result
        times = table.column(dataset.time_column)
        if times.null_count:
            rows = table.filter(pc.is_null(times))
            schema_result = CheckResult(
                f"not_null({dataset.time_column})",
                False,
                element_count=len(table),
                unexpected_count=rows.num_rows,
                mostly=1.0,
                note=f"the time column {dataset.time_column} names each row's partition",
            )
            result.quarantined.append(
                _quarantine(lake, dataset, rows, "unpartitioned", origin, [schema_result], now)
            )
            table = table.filter(pc.is_valid(times))
        table = table.append_column(
            _PART, pc.strftime(table.column(dataset.time_column), format="%Y-%m-%d")
        )
        table, duplicates, conflicts = _split_known(lake, dataset, table)
        result.rows_duplicate = duplicates
        if conflicts is not None and conflicts.num_rows:
            for date in sorted(set(conflicts.column(_PART).to_pylist())):
                rows = conflicts.filter(pc.equal(conflicts.column(_PART), date))
                note = CheckResult(
                    "append_only(" + ", ".join(dataset.key) + ")",
                    False,
                    element_count=rows.num_rows,
                    unexpected_count=rows.num_rows,
                    mostly=1.0,
                    examples=rows.drop_columns([_PART]).slice(0, 5).to_pylist(),
                    note="the lake holds these keys with other values; it never rewrites a row",
                )
                result.quarantined.append(
                    _quarantine(
                        lake,
                        dataset,
                        rows.drop_columns([_PART]),
                        f"date={date}",
                        origin,
                        [note],
                        now,
                    )
                )
        if table.num_rows:
            _judge_and_write(lake, dataset, table, origin, now, reference, result)
    return result


def _judge_and_write(
    lake: Lake,
    dataset: Dataset,
    table: pa.Table,
    origin: str,
    now: datetime,
    reference: Callable[[str, str], np.ndarray | None] | None,
    result: IngestResult,
) -> None:
    checks = [unique(*dataset.key), *[c for c in dataset.checks if c.scope == "partition"]]
    verdicts = run_checks(
        table, _PART, checks, reference=reference or lake.reference_loader(dataset.name)
    )
    for date, results in verdicts.items():  # row counts are of the whole partition
        folder = lake.root / dataset.name / f"date={date}"
        already = sum(file_rows(p) for p in folder.glob("part-*.parquet"))
        if already:
            pairs = zip(checks, results, strict=True)
            results[:] = [check.with_existing_rows(r, already) for check, r in pairs]
    table = table.sort_by([(_PART, "ascending"), (dataset.time_column, "ascending")])
    dates, counts = np.unique(
        table.column(_PART).to_numpy(zero_copy_only=False), return_counts=True
    )
    spans = {
        d: (int(start), int(n))
        for d, start, n in zip(dates.tolist(), np.cumsum(counts) - counts, counts, strict=True)
    }
    log, to_publish = [], []
    for date, results in verdicts.items():
        rows = table.slice(*spans[date]).drop_columns([_PART])
        digest = _content_hash(rows)[:16]
        passed = not any(r.blocking for r in results)
        result.warnings += [
            (f"date={date}", r) for r in results if not r.success and not r.blocking
        ]
        if passed:
            target = lake.root / dataset.name / f"date={date}" / f"part-{digest}.parquet"
            if not target.exists():
                to_publish.append((rows, target))
            result.rows_written += rows.num_rows
            result.partitions_written.append(date)
        else:
            entry = _quarantine(lake, dataset, rows, f"date={date}", origin, results, now)
            result.quarantined.append(entry)
            if entry.again:  # logged when first quarantined
                continue
        log.append(
            {
                "at": now.isoformat(),
                "origin": origin,
                "partition": f"date={date}",
                "part": f"part-{digest}",
                "status": "passed" if passed else "quarantined",
                "results": [r.to_dict() for r in results],
            }
        )
    # Each partition file is published on its own (atomically); writing several at once
    # overlaps Parquet encoding and file-system latency.
    with ThreadPoolExecutor(max_workers=4) as pool:
        for future in [pool.submit(_publish, lake, rows, target) for rows, target in to_publish]:
            future.result()
    append_check_log(lake.check_log_path(dataset.name), log)


def _split_known(
    lake: Lake, dataset: Dataset, table: pa.Table
) -> tuple[pa.Table, int, pa.Table | None]:
    """(new rows, rows the lake holds identically, rows whose key it holds otherwise)."""
    dates = set(table.column(_PART).to_pylist())
    existing = [
        p
        for d in sorted(dates)
        for p in (lake.root / dataset.name / f"date={d}").glob("part-*.parquet")
    ]
    if not existing:
        return table, 0, None
    con = duck_connect()
    register_filesystem(con, [lake.root])
    try:
        numbered = table.append_column(_ROW, pa.array(np.arange(table.num_rows)))
        con.register("batch", numbered)
        con.execute(f"CREATE VIEW existing AS {lake.select_sql(dataset.name, existing)}")
        on = " AND ".join(f"b.{_q(k)} = e.{_q(k)}" for k in dataset.key)
        values = [c for c in dataset.columns if c not in dataset.key]
        same = " AND ".join(f"b.{_q(c)} IS NOT DISTINCT FROM e.{_q(c)}" for c in values)
        matches = con.execute(
            f"SELECT b.{_ROW}, bool_or({same or 'TRUE'}) FROM batch b JOIN existing e "
            f"ON {on} GROUP BY 1"
        ).fetchall()
    finally:
        con.close()
    if not matches:
        return table, 0, None
    known = np.zeros(table.num_rows, dtype=bool)
    conflict = np.zeros(table.num_rows, dtype=bool)
    for row, identical in matches:
        known[row] = True
        conflict[row] = not identical
    fresh = table.filter(pa.array(~known))
    return fresh, int(known.sum() - conflict.sum()), table.filter(pa.array(conflict))


def _quarantine(
    lake: Lake,
    dataset: Dataset,
    rows: pa.Table,
    partition: str,
    origin: str,
    results: list[CheckResult],
    now: datetime,
) -> QuarantineEntry:
    digest = _content_hash(rows)[:16]
    folder = lake.root / "_quarantine" / dataset.name / partition
    data_file = folder / f"part-{digest}.parquet"
    entry_id = f"{dataset.name}/{partition}/part-{digest}"
    report_json = data_file.with_suffix(".report.json")
    if report_json.is_file():  # the same rows were quarantined before: idempotent
        entry = QuarantineEntry.load(report_json)
        return replace(entry, again=True)
    if not data_file.exists():
        _publish(lake, rows, data_file)
    return write_reports(
        data_file,
        entry_id=entry_id,
        dataset=dataset.name,
        partition=partition,
        origin=origin,
        rows=rows.num_rows,
        results=results,
        when=now,
    )
