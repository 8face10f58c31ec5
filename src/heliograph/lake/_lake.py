"""The lake: append-only Parquet datasets partitioned by date, read through DuckDB.

Example::

    lake = Lake(Path(".helio/lake"), [prices])
    result = lake.ingest("energy_prices", frame, origin="BE.csv")
    lake.query("SELECT market, avg(price) FROM energy_prices GROUP BY 1")

``Lake`` knows the datasets and reads them; writing a batch is ``_ingest``'s, the record of
check results ``_check_log``'s, snapshots ``_snapshot``'s and quarantine ``_quarantine``'s.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from heliograph.checks import CheckResult, arrow_schema, run_dataset_checks
from heliograph.core import (
    Clock,
    LakeError,
    RealClock,
    UnknownDatasetError,
    duck_connect,
    duck_frame,
)

from ._check_log import read_check_log
from ._dataset import Dataset
from ._ingest import IngestResult, ingest_batch
from ._quarantine import QuarantineEntry
from ._storage import file_rows, lake_root, register_filesystem

__all__ = ["Lake", "PartitionInfo"]


@dataclass(frozen=True)
class PartitionInfo:
    date: str
    files: tuple[Path, ...]
    rows: int
    bytes: int


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Lake:
    """A folder of datasets. Declared datasets come from configuration or Python; datasets
    that were written before are known from the layout stored beside their data."""

    def __init__(
        self, root: Path | str, datasets: Iterable[Dataset] = (), *, clock: Clock | None = None
    ) -> None:
        self.root = lake_root(root)
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
                sum(file_rows(p) for p in paths),
                sum(p.stat().st_size for p in paths),
            )
            for date, paths in sorted(by_date.items())
        ]

    # -- reading -------------------------------------------------------------------------
    def connect(self, files: Mapping[str, list[Path]] | None = None) -> Any:
        """A DuckDB connection with one view per dataset (or over the ``files`` given)."""
        con = duck_connect()
        register_filesystem(con, [self.root])
        names = self.dataset_names() if files is None else list(files)
        for name in names:
            paths = self.files(name) if files is None else files[name]
            con.execute(f"CREATE VIEW {_q(name)} AS {self.select_sql(name, paths)}")
        return con

    def select_sql(self, name: str, paths: list[Path]) -> str:
        """SQL selecting a dataset's rows from ``paths`` (typed and empty when there are none)."""
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

        # A view only for the datasets ``sql`` names: one it does not name cannot be read,
        # and each view costs a glob and a bind over every file of its dataset.
        names = [n for n in self.dataset_names() if n.lower() in sql.lower()]  # DuckDB folds case
        con = self.connect({n: self.files(n) for n in names})
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
    def ingest(
        self,
        name: str,
        frame: pd.DataFrame,
        *,
        origin: str,
        reference: Callable[[str, str], np.ndarray | None] | None = None,
    ) -> IngestResult:
        """Take in a batch of rows for dataset ``name``; ``origin`` says where they came from."""
        return ingest_batch(self, name, frame, origin=origin, reference=reference)

    def check_log_path(self, name: str) -> Path:
        return self.root / "_checks" / f"{name}.jsonl"

    def check_log(self, name: str) -> list[dict[str, Any]]:
        """Every recorded check result of a dataset, oldest first."""
        return read_check_log(self.check_log_path(name))

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
        return run_dataset_checks(dataset.checks, self.query, name, now or self.clock.now())


def _duck_type(kind: pa.DataType) -> str:
    if pa.types.is_timestamp(kind):
        return "TIMESTAMPTZ" if kind.tz else "TIMESTAMP"
    return {
        pa.string(): "VARCHAR",
        pa.float64(): "DOUBLE",
        pa.int64(): "BIGINT",
        pa.bool_(): "BOOLEAN",
    }[kind]
