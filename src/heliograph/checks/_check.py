"""The check type: one class declares a check's name, its parameters (with their validation)
and how DuckDB judges it. Declaring the class registers it; nothing else needs an edit.

A check over rows only says which rows count and which are unexpected, as SQL over ``batch``:

>>> class Positive(RowCheck):
...     '''Every value of ``column`` is above zero.'''
...     type: Literal["positive"] = "positive"
...     column: str
...     mostly: float = mostly_field()
...
...     def predicate(self) -> tuple[str, str, str]:
...         col = quote(self.column)
...         return f"{col} IS NOT NULL", f"{col} <= 0", "non-null values"
...
...     def columns_used(self) -> list[str]:
...         return [self.column]

Other checks override ``judge_partitions`` (one grouped query over every partition of a batch)
or, with ``scope = "dataset"``, ``judge_dataset``. ``parse_checks`` turns ``helio.toml`` entries
into checks through the registry; an unknown ``type`` names the registered ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from heliograph.core import CheckError, duck_frame

from ._result import CheckResult

__all__ = [
    "CHECKS",
    "MAX_EXAMPLES",
    "Check",
    "CheckContext",
    "ReferenceLoader",
    "RowCheck",
    "mostly_field",
    "parse_checks",
    "quote",
]

MAX_EXAMPLES = 5
ReferenceLoader = Callable[[str, str], "np.ndarray | None"]
"""``(reference, column) -> values`` of the reference snapshot, or None when there is none."""

CHECKS: dict[str, type[Check]] = {}
"""Every check type by its ``type`` name, filled as check classes are declared."""


@dataclass(frozen=True)
class CheckContext:
    """What a check may need besides the batch: the reference values of a snapshot."""

    reference: ReferenceLoader | None = None


def quote(name: str) -> str:
    """A column name as a DuckDB identifier."""
    return '"' + name.replace('"', '""') + '"'


def mostly_field() -> Any:
    """The ``mostly`` parameter: the fraction of rows that must meet the expectation."""
    return Field(default=1.0, gt=0, le=1)


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _jsonable(v) for k, v in row.items()} for row in frame.to_dict("records")]


class Check(BaseModel):
    """Base of every check. ``scope`` says whether it judges each partition or the dataset."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    scope: ClassVar[Literal["partition", "dataset"]] = "partition"
    severity: Literal["error", "warn"] = "error"

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        name = cls.model_fields["type"].default
        if isinstance(name, str):  # a concrete check type (bases such as RowCheck have none)
            if name in CHECKS and CHECKS[name].__qualname__ != cls.__qualname__:
                raise TypeError(f"check type {name!r} is declared twice")
            CHECKS[name] = cls

    def label(self) -> str:
        args = ", ".join(self._label_args())
        return f"{self.type}({args})"

    def _label_args(self) -> list[str]:
        values = self.model_dump(exclude={"type", "severity"}, exclude_defaults=True)
        return [f"{k}={v!r}" for k, v in values.items()]

    def columns_used(self) -> list[str]:
        return []

    def judge_partitions(
        self, con: Any, part: str, context: CheckContext
    ) -> dict[str, CheckResult]:
        """Results by partition for the rows of view ``batch``, partitioned by SQL ``part``."""
        raise CheckError(f"check {self.label()} does not judge partitions")

    def with_existing_rows(self, result: CheckResult, rows: int) -> CheckResult:
        """The result once ``rows`` already published in the partition are counted too."""
        return result

    def judge_dataset(
        self, query: Callable[[str], pd.DataFrame], table: str, now: datetime
    ) -> CheckResult:
        """The result for a whole dataset (``scope = "dataset"``); ``query`` runs SQL on it."""
        raise CheckError(f"check {self.label()} does not judge a dataset")


class RowCheck(Check):
    """A check row by row: ``predicate`` gives, as SQL over ``batch``, the rows counted and the
    rows unexpected; the check passes where at least ``mostly`` of the counted rows are fine."""

    def predicate(self) -> tuple[str, str, str]:
        """(counted rows, unexpected rows, what is counted): SQL conditions over ``batch``.

        The unexpected condition may use a window ``PARTITION BY __hp`` (the partition)."""
        raise NotImplementedError

    def judge_partitions(
        self, con: Any, part: str, context: CheckContext
    ) -> dict[str, CheckResult]:
        counted, bad, kind = self.predicate()
        mostly = float(getattr(self, "mostly", 1.0))
        flagged = f"SELECT *, {part}::VARCHAR AS __hp, ({counted}) AS __hcounted FROM batch"
        # Flag rows in a subquery: `bad` may hold a window function (unique), which a FILTER
        # clause cannot.
        flagged = f"SELECT *, ({bad}) AS __hbad FROM ({flagged})"
        con.execute(f"CREATE OR REPLACE TEMP VIEW flagged AS {flagged}")
        counts = con.execute(
            "SELECT __hp, count(*) FILTER (WHERE __hcounted), count(*) FILTER (WHERE __hbad) "
            "FROM flagged GROUP BY 1"
        ).fetchall()
        examples = duck_frame(
            con,
            f"SELECT * EXCLUDE (__hcounted, __hbad, {part}) FROM flagged WHERE __hbad "
            f"QUALIFY row_number() OVER (PARTITION BY __hp) <= {MAX_EXAMPLES}",
        )
        columns = [c for c in examples.columns if c != "__hp"]
        shown = {str(p): _rows(group[columns]) for p, group in examples.groupby("__hp")}
        out = {}
        for p, n, unexpected in counts:
            n, unexpected = int(n), int(unexpected)
            # Great Expectations: success when the expected fraction of counted rows reaches
            # `mostly`; with nothing to count the expectation holds vacuously.
            success = n == 0 or (n - unexpected) / n >= mostly
            out[p] = CheckResult(
                self.label(),
                success,
                element_count=n,
                unexpected_count=unexpected,
                mostly=mostly,
                examples=shown.get(p, []),
                note="" if n else f"no {kind} to judge",
            )
        con.execute("DROP VIEW flagged")
        return out


def parse_checks(items: Sequence[Mapping[str, Any]], where: str = "checks") -> list[Check]:
    """Checks from configuration entries; errors name the entry, the field and the rule."""
    checks = []
    for index, item in enumerate(items):
        kind = item.get("type")
        if not isinstance(kind, str) or kind not in CHECKS:
            raise CheckError(
                f"{where}[{index}]: unknown check type {kind!r}",
                field=f"{where}[{index}].type",
                rule="one of " + ", ".join(sorted(CHECKS)),
            )
        try:
            checks.append(CHECKS[kind].model_validate(dict(item)))
        except ValidationError as exc:
            error = exc.errors()[0]
            field_name = ".".join(str(p) for p in error["loc"]) or "(entry)"
            message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
            raise CheckError(
                f"{where}[{index}]: {field_name}: {message}",
                field=f"{where}[{index}].{field_name}",
                rule=error["type"],
            ) from None
    return checks
