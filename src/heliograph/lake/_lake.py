"""The lake: append-only Parquet datasets partitioned by date, read through DuckDB.

>>> lake = Lake(Path(".helio/lake"), [prices])
>>> result = lake.ingest("energy_prices", frame, origin="BE.csv")
>>> result.rows_written, result.rows_duplicate, len(result.quarantined)
(52416, 0, 0)
>>> lake.query("SELECT market, avg(price) FROM energy_prices GROUP BY 1")

Every batch is converted to the dataset's columns, rows whose key the lake already holds are
skipped (identical) or quarantined (same key, other values: the lake never rewrites a row),
every partition is judged by the dataset's checks, and each partition's rows are then published
with one atomic rename, or quarantined with a report. A crash at any point leaves either the
whole partition file visible or none of it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from heliograph.checks import (
    CheckResult,
    Freshness,
    RowCount,
    arrow_schema,
    check_freshness,
    conform,
    judge_row_count,
    run_checks,
    to_arrow,
    unique,
)
from heliograph.core import (
    Clock,
    LakeError,
    RealClock,
    UnknownDatasetError,
    atomic_move,
    duck_connect,
    duck_frame,
)

from ._dataset import Dataset
from ._quarantine import QuarantineEntry, write_reports

__all__ = ["IngestResult", "Lake", "PartitionInfo"]

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


@dataclass(frozen=True)
class PartitionInfo:
    date: str
    files: tuple[Path, ...]
    rows: int
    bytes: int


def _write_parquet(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path`` and make it durable (separate so tests can crash it)."""
    pq.write_table(table, path, compression="zstd")
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def _content_hash(table: pa.Table) -> str:
    """A hash of the rows' values (not of their memory layout): equal rows, equal hash."""
    digest = hashlib.sha256(",".join(table.column_names).encode())
    row_hashes = pd.util.hash_pandas_object(table.to_pandas(), index=False)
    digest.update(row_hashes.to_numpy().tobytes())
    return digest.hexdigest()


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Lake:
    """A folder of datasets. Declared datasets come from configuration or Python; datasets
    that were written before are known from the layout stored beside their data."""

    def __init__(
        self, root: Path | str, datasets: Iterable[Dataset] = (), *, clock: Clock | None = None
    ) -> None:
        self.root = Path(root)
        self._declared = {d.name: d for d in datasets}
        self.clock = clock or RealClock()

    # -- datasets ------------------------------------------------------------------------
    def dataset_names(self) -> list[str]:
        on_disk = set()
        if self.root.is_dir():
            on_disk = {p.parent.name for p in self.root.glob("*/_dataset.json")}
        return sorted(on_disk | set(self._declared))

    def dataset(self, name: str) -> Dataset:
        if name in self._declared:
            return self._declared[name]
        layout = self.root / name / "_dataset.json"
        if layout.is_file():
            return Dataset.from_layout(json.loads(layout.read_text()))
        known = ", ".join(self.dataset_names()) or "none yet"
        raise UnknownDatasetError(
            f"unknown dataset {name!r}",
            field="dataset",
            rule=f"one of the declared datasets ({known})",
        )

    def files(self, name: str) -> list[Path]:
        """The visible data files of a dataset, oldest partition first."""
        self.dataset(name)
        return sorted((self.root / name).glob("date=*/part-*.parquet"))

    def partitions(self, name: str) -> list[PartitionInfo]:
        by_date: dict[str, list[Path]] = {}
        for path in self.files(name):
            by_date.setdefault(path.parent.name.removeprefix("date="), []).append(path)
        return [
            PartitionInfo(
                date,
                tuple(paths),
                sum(pq.read_metadata(p).num_rows for p in paths),
                sum(p.stat().st_size for p in paths),
            )
            for date, paths in sorted(by_date.items())
        ]

    # -- reading -------------------------------------------------------------------------
    def connect(self, files: Mapping[str, list[Path]] | None = None) -> Any:
        """A DuckDB connection with one view per dataset (or over the ``files`` given)."""
        con = duck_connect()
        names = self.dataset_names() if files is None else list(files)
        for name in names:
            paths = self.files(name) if files is None else files[name]
            con.execute(f"CREATE VIEW {_q(name)} AS {self._select(name, paths)}")
        return con

    def _select(self, name: str, paths: list[Path]) -> str:
        dataset = self.dataset(name)
        if not paths:
            schema = arrow_schema(dataset.columns)
            cols = ", ".join(f"NULL::{_duck_type(f.type)} AS {_q(f.name)}" for f in schema)
            return f"SELECT {cols} WHERE FALSE"
        listing = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
        options = "union_by_name = true, hive_partitioning = false"
        return f"SELECT * FROM read_parquet([{listing}], {options})"

    def query(self, sql: str) -> pd.DataFrame:
        """Run SQL over the lake's datasets (each is a view named after it)."""
        import duckdb

        con = self.connect()
        try:
            return duck_frame(con, sql)
        except duckdb.Error as exc:
            raise LakeError(
                f"query failed: {str(exc).splitlines()[0]}",
                rule="DuckDB SQL",
                hint="datasets: " + ", ".join(self.dataset_names()),
            ) from None
        finally:
            con.close()

    def read(
        self,
        name: str,
        *,
        snapshot: str | None = None,
        columns: list[str] | None = None,
        where: str | None = None,
    ) -> pd.DataFrame:
        """Rows of a dataset, now or as they were at ``snapshot`` (a snapshot id)."""
        from ._snapshot import snapshot_files

        paths = snapshot_files(self, snapshot, name) if snapshot else self.files(name)
        con = self.connect({name: paths})
        try:
            cols = ", ".join(_q(c) for c in columns) if columns else "*"
            sql = f"SELECT {cols} FROM {_q(name)}" + (f" WHERE {where}" if where else "")
            return duck_frame(con, sql)
        finally:
            con.close()

    # -- writing -------------------------------------------------------------------------
    @contextlib.contextmanager
    def _lock(self, name: str) -> Iterator[None]:
        folder = self.root / "_locks"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{name}.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _staging(self) -> Path:
        folder = self.root / "_staging"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _publish(self, table: pa.Table, target: Path) -> None:
        """Write ``table`` to a staging file, then rename it to ``target`` in one step."""
        tmp = self._staging() / f"{uuid.uuid4().hex}.parquet.tmp"
        try:
            _write_parquet(table, tmp)
            atomic_move(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def ingest(
        self,
        name: str,
        frame: pd.DataFrame,
        *,
        origin: str,
        reference: Callable[[str, str], np.ndarray | None] | None = None,
    ) -> IngestResult:
        """Take in a batch of rows for dataset ``name``; ``origin`` says where they came from."""
        dataset = self.dataset(name)
        result = IngestResult(name, origin, rows_in=len(frame))
        if frame.empty:
            return result
        now = self.clock.now()
        with self._lock(name):
            dataset.write_layout(self.root / name)
            table, schema_result = conform(frame, dataset.columns)
            if table is None:
                raw = pa.table(
                    {
                        str(c): to_arrow(frame[c].astype("string"), pa.string())
                        for c in frame.columns
                    }
                )
                result.quarantined.append(
                    self._quarantine(dataset, raw, "unpartitioned", origin, [schema_result], now)
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
                    self._quarantine(dataset, rows, "unpartitioned", origin, [schema_result], now)
                )
                table = table.filter(pc.is_valid(times))
            table = table.append_column(
                _PART, pc.strftime(table.column(dataset.time_column), format="%Y-%m-%d")
            )
            table, duplicates, conflicts = self._split_known(dataset, table)
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
                        self._quarantine(
                            dataset, rows.drop_columns([_PART]), f"date={date}", origin, [note], now
                        )
                    )
            if table.num_rows:
                self._judge_and_write(dataset, table, origin, now, reference, result)
        return result

    def _judge_and_write(
        self,
        dataset: Dataset,
        table: pa.Table,
        origin: str,
        now: datetime,
        reference: Callable[[str, str], np.ndarray | None] | None,
        result: IngestResult,
    ) -> None:
        checks = [unique(*dataset.key), *[c for c in dataset.checks if c.scope == "partition"]]
        verdicts = run_checks(
            table, _PART, checks, reference=reference or self.reference_loader(dataset.name)
        )
        for date, results in verdicts.items():  # row counts are of the whole partition
            folder = self.root / dataset.name / f"date={date}"
            already = sum(pq.read_metadata(p).num_rows for p in folder.glob("part-*.parquet"))
            if already:
                for i, check in enumerate(checks):
                    if isinstance(check, RowCount):
                        results[i] = judge_row_count(
                            check, results[i].element_count, already=already
                        )
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
                target = self.root / dataset.name / f"date={date}" / f"part-{digest}.parquet"
                if not target.exists():
                    to_publish.append((rows, target))
                result.rows_written += rows.num_rows
                result.partitions_written.append(date)
            else:
                entry = self._quarantine(dataset, rows, f"date={date}", origin, results, now)
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
            for future in [pool.submit(self._publish, rows, target) for rows, target in to_publish]:
                future.result()
        self._log_checks(dataset.name, log)

    def _log_checks(self, name: str, lines: list[dict[str, Any]]) -> None:
        folder = self.root / "_checks"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{name}.jsonl", "a", encoding="utf-8") as handle:
            handle.writelines(json.dumps(line, default=str) + "\n" for line in lines)

    def check_log(self, name: str) -> list[dict[str, Any]]:
        """Every recorded check result of a dataset, oldest first."""
        path = self.root / "_checks" / f"{name}.jsonl"
        if not path.is_file():
            return []
        lines = []
        for raw in path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(json.JSONDecodeError):  # a torn last line after a crash
                lines.append(json.loads(raw))
        return lines

    def _split_known(
        self, dataset: Dataset, table: pa.Table
    ) -> tuple[pa.Table, int, pa.Table | None]:
        """(new rows, rows the lake holds identically, rows whose key it holds otherwise)."""
        dates = set(table.column(_PART).to_pylist())
        existing = [
            p
            for d in sorted(dates)
            for p in (self.root / dataset.name / f"date={d}").glob("part-*.parquet")
        ]
        if not existing:
            return table, 0, None
        con = duck_connect()
        try:
            numbered = table.append_column(_ROW, pa.array(np.arange(table.num_rows)))
            con.register("batch", numbered)
            con.execute(f"CREATE VIEW existing AS {self._select(dataset.name, existing)}")
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
        self,
        dataset: Dataset,
        rows: pa.Table,
        partition: str,
        origin: str,
        results: list[CheckResult],
        now: datetime,
    ) -> QuarantineEntry:
        digest = _content_hash(rows)[:16]
        folder = self.root / "_quarantine" / dataset.name / partition
        data_file = folder / f"part-{digest}.parquet"
        entry_id = f"{dataset.name}/{partition}/part-{digest}"
        report_json = data_file.with_suffix(".report.json")
        if report_json.is_file():  # the same rows were quarantined before: idempotent
            entry = QuarantineEntry.load(report_json)
            return replace(entry, again=True)
        if not data_file.exists():
            self._publish(rows, data_file)
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

    def quarantined(self, name: str | None = None) -> list[QuarantineEntry]:
        """Quarantined batches, of one dataset or all, oldest partition first."""
        base = self.root / "_quarantine"
        pattern = f"{name}/*/*.report.json" if name else "*/*/*.report.json"
        return [QuarantineEntry.load(p) for p in sorted(base.glob(pattern))]

    def reference_loader(
        self, name: str, sample: int = 100_000
    ) -> Callable[[str, str], np.ndarray | None]:
        """Values of a column in a reference snapshot (``latest`` or an id), for distribution
        checks; at most ``sample`` values, evenly spaced, so a long history stays cheap."""
        from ._snapshot import newest_snapshot, snapshot_files

        cache: dict[tuple[str, str], np.ndarray | None] = {}

        def load(reference: str, column: str) -> np.ndarray | None:
            if (reference, column) not in cache:
                if reference == "latest":
                    snap = newest_snapshot(self, name)
                    snapshot_id = snap.id if snap else None
                else:
                    snapshot_id = reference
                values = None
                if snapshot_id is not None:
                    paths = snapshot_files(self, snapshot_id, name)
                    if paths:
                        con = self.connect({name: paths})
                        try:
                            values = con.execute(
                                f"SELECT {_q(column)}::DOUBLE FROM {_q(name)} "
                                f"WHERE {_q(column)} IS NOT NULL"
                            ).fetchnumpy()
                        finally:
                            con.close()
                        values = np.asarray(next(iter(values.values())), dtype=float)
                        if len(values) > sample:
                            values = values[np.linspace(0, len(values) - 1, sample).astype(int)]
                cache[(reference, column)] = values
            return cache[(reference, column)]

        return load

    # -- dataset-wide checks ---------------------------------------------------------------
    def check_dataset(self, name: str, now: datetime | None = None) -> list[CheckResult]:
        """Run the dataset-scoped checks (freshness) over the visible data."""
        dataset = self.dataset(name)
        now = now or self.clock.now()
        results = []
        for check in dataset.checks:
            if isinstance(check, Freshness):
                newest = self.query(f"SELECT max({_q(check.column)}) AS m FROM {_q(name)}")["m"][0]
                value = None if pd.isna(newest) else pd.Timestamp(newest).to_pydatetime()
                results.append(check_freshness(check, value, now))
        return results


def _duck_type(kind: pa.DataType) -> str:
    if pa.types.is_timestamp(kind):
        return "TIMESTAMPTZ" if kind.tz else "TIMESTAMP"
    return {
        pa.string(): "VARCHAR",
        pa.float64(): "DOUBLE",
        pa.int64(): "BIGINT",
        pa.bool_(): "BOOLEAN",
    }[kind]
