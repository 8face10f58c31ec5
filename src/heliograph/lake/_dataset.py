"""Datasets: what a lake dataset is (columns, key, time column, checks) and where it lives.

Example::

    prices = Dataset(
        "energy_prices",
        columns={"market": "string", "timestamp": "timestamp", "price": "double"},
        key=("market", "timestamp"),
        time_column="timestamp",
        checks=(between("price", -500, 4000, mostly=0.99),),
    )

Layout, under the lake's root::

    <dataset>/_dataset.json                    columns, key and time column, written once
    <dataset>/date=YYYY-MM-DD/part-<hash>.parquet
    _quarantine/<dataset>/date=YYYY-MM-DD/part-<hash>.parquet (+ .report.json, .report.md)
    _snapshots/<dataset>/<id>.json             snapshot manifests
    _checks/<dataset>.jsonl                    every check result, one line per partition batch
    _staging/                                  files being written; never read
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from heliograph.checks import Check, arrow_schema, parse_checks
from heliograph.core import ConfigError, DatasetSettings, LakeError

from ._storage import write_text

__all__ = ["Dataset"]

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class Dataset:
    """A dataset's definition: the columns and types, the key, the time column, the checks."""

    name: str
    columns: Mapping[str, str]
    key: Sequence[str]
    time_column: str
    checks: Sequence[Check] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        where = f"datasets.{self.name}"
        if not _NAME.match(self.name):
            raise ConfigError(
                f"dataset name {self.name!r} is not allowed",
                field=where,
                rule="lower-case letters, digits and _, starting with a letter",
            )
        arrow_schema(self.columns)  # validates the types
        for column in (*self.key, self.time_column):
            if column not in self.columns:
                raise ConfigError(
                    f"{where}: {column!r} is used as key or time column but is "
                    "not among the columns",
                    field=f"{where}.columns",
                    rule="key and time_column are declared columns",
                )
        if self.time_column not in self.key:
            raise ConfigError(
                f"{where}: the key must include the time column {self.time_column!r}",
                field=f"{where}.key",
                rule="rows are identified within their date partition",
            )
        if self.columns[self.time_column] != "timestamp":
            raise ConfigError(
                f"{where}: time_column {self.time_column!r} must have type "
                f"timestamp, not {self.columns[self.time_column]}",
                field=f"{where}.time_column",
                rule="type timestamp",
            )
        for check in self.checks:
            for column in check.columns_used():
                if column not in self.columns:
                    raise ConfigError(
                        f"{where}: check {check.label()} names column "
                        f"{column!r}, which is not declared",
                        field=f"{where}.checks",
                        rule="checks name declared columns",
                    )

    @classmethod
    def from_settings(cls, name: str, settings: DatasetSettings) -> Dataset:
        checks = parse_checks(settings.checks, where=f"datasets.{name}.checks")
        return cls(
            name, dict(settings.columns), tuple(settings.key), settings.time_column, tuple(checks)
        )

    def layout(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "columns": dict(self.columns),
            "key": list(self.key),
            "time_column": self.time_column,
        }

    @classmethod
    def from_layout(cls, data: Mapping[str, Any]) -> Dataset:
        return cls(data["name"], dict(data["columns"]), tuple(data["key"]), data["time_column"])

    def write_layout(self, folder: Path) -> None:
        """Record the layout on first write; refuse a declaration that contradicts the data."""
        path = folder / "_dataset.json"
        if path.is_file():
            stored = json.loads(path.read_text())
            mine = self.layout()
            if stored != mine:
                diffs = [k for k in mine if mine[k] != stored.get(k)]
                raise LakeError(
                    f"dataset {self.name} in the lake was created with a different {diffs[0]}: "
                    f"{stored.get(diffs[0])} (declared now: {mine[diffs[0]]})",
                    file=str(path),
                    field=f"datasets.{self.name}.{diffs[0]}",
                    rule="a dataset's columns, key and time column never change",
                    hint="declare a new dataset for a new layout",
                )
            return
        write_text(path, json.dumps(self.layout(), indent=2))
