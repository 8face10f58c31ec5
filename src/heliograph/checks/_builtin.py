"""The built-in checks: data expectations with tolerances, declared in Python or ``helio.toml``.

>>> checks = [
...     not_null("price"),
...     between("price", -500, 4000, mostly=0.99),
...     unique("market", "timestamp"),
...     row_count(min=24, max=50),
... ]

The same checks in ``helio.toml``::

    [[datasets.energy_prices.checks]]
    type = "between"
    column = "price"
    min = -500
    max = 4000
    mostly = 0.99

``mostly`` has Great Expectations' meaning: the check passes when at least that fraction of the
rows it applies to meet the expectation, and for value checks (``between``) rows whose value is
null are left out of the fraction (``not_null`` is how you constrain nulls).

``severity = "warn"`` records a failure (and an event) without quarantining the data: for
checks that describe the world rather than the data's integrity, such as a distribution
that moves after a real regime shift.

Each check is one class here (its name, parameters and DuckDB judgement) and one function that
builds it; see ``_check`` for how to declare another.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from heliograph.core import duck_frame
from heliograph.metrics import ks_statistic

from ._check import Check, CheckContext, RowCheck, mostly_field, quote
from ._result import CheckResult

__all__ = [
    "Between",
    "Distribution",
    "Freshness",
    "NotNull",
    "RowCount",
    "Unique",
    "between",
    "distribution",
    "freshness",
    "not_null",
    "parse_duration",
    "row_count",
    "unique",
]


class NotNull(RowCheck):
    type: Literal["not_null"] = "not_null"
    column: str
    mostly: float = mostly_field()

    def predicate(self) -> tuple[str, str, str]:
        return "TRUE", f"{quote(self.column)} IS NULL", "rows"

    def _label_args(self) -> list[str]:
        return [self.column, *([f"mostly={self.mostly:g}"] if self.mostly < 1 else [])]

    def columns_used(self) -> list[str]:
        return [self.column]


class Between(RowCheck):
    type: Literal["between"] = "between"
    column: str
    min: float | None = None
    max: float | None = None
    strict_min: bool = False
    strict_max: bool = False
    mostly: float = mostly_field()

    @model_validator(mode="after")
    def _bounds(self) -> Between:
        if self.min is None and self.max is None:
            raise ValueError("between needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is greater than max ({self.max:g})")
        return self

    def predicate(self) -> tuple[str, str, str]:
        col = quote(self.column)
        ok = []
        if self.min is not None:
            ok.append(f"{col} {'>' if self.strict_min else '>='} {self.min!r}")
        if self.max is not None:
            ok.append(f"{col} {'<' if self.strict_max else '<='} {self.max!r}")
        cond = " AND ".join(ok)
        return f"{col} IS NOT NULL", f"{col} IS NOT NULL AND NOT ({cond})", "non-null values"

    def _label_args(self) -> list[str]:
        args = [
            self.column,
            "-inf" if self.min is None else f"{self.min:g}",
            "inf" if self.max is None else f"{self.max:g}",
        ]
        return args + ([f"mostly={self.mostly:g}"] if self.mostly < 1 else [])

    def columns_used(self) -> list[str]:
        return [self.column]


class Unique(RowCheck):
    type: Literal["unique"] = "unique"
    columns: list[str] = Field(min_length=1)
    mostly: float = mostly_field()

    def predicate(self) -> tuple[str, str, str]:
        cols = ", ".join(quote(c) for c in self.columns)
        all_null = " AND ".join(f"{quote(c)} IS NULL" for c in self.columns)
        dup = f"count(*) OVER (PARTITION BY __hp, {cols}) > 1"
        return f"NOT ({all_null})", f"NOT ({all_null}) AND {dup}", "rows"

    def _label_args(self) -> list[str]:
        return [*self.columns, *([f"mostly={self.mostly:g}"] if self.mostly < 1 else [])]

    def columns_used(self) -> list[str]:
        return list(self.columns)


class RowCount(Check):
    """A partition holds between ``min`` and ``max`` rows (counting rows published before)."""

    type: Literal["row_count"] = "row_count"
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> RowCount:
        if self.min is None and self.max is None:
            raise ValueError("row_count needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self

    def judge_partitions(
        self, con: Any, part: str, context: CheckContext
    ) -> dict[str, CheckResult]:
        rows = con.execute(f"SELECT {part}::VARCHAR, count(*) FROM batch GROUP BY 1").fetchall()
        return {p: self.judge(int(n)) for p, n in rows}

    def with_existing_rows(self, result: CheckResult, rows: int) -> CheckResult:
        return self.judge(result.element_count, already=rows) if rows else result

    def judge(self, rows: int, *, already: int = 0) -> CheckResult:
        """A partition's row count; ``already`` rows were in it before."""
        total = rows + already
        ok = (self.min is None or total >= self.min) and (self.max is None or total <= self.max)
        low = self.min if self.min is not None else 0
        high = "∞" if self.max is None else self.max
        before = f" ({already} already in the partition)" if already else ""
        return CheckResult(
            self.label(),
            ok,
            element_count=total,
            unexpected_count=0 if ok else total,
            severity=self.severity,
            note=f"{total} rows{before}, expected {low}..{high}",
        )


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """``"90min"``, ``"6h"``, ``"2d"`` as a timedelta; anything else is a ValueError."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration like '90min', '6h' or '2d'")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


class Freshness(Check):
    """The newest ``column`` value in the dataset is at most ``max_age`` old at the clock's now."""

    type: Literal["freshness"] = "freshness"
    scope: ClassVar[Literal["partition", "dataset"]] = "dataset"
    column: str
    max_age: str

    @model_validator(mode="after")
    def _duration(self) -> Freshness:
        parse_duration(self.max_age)
        return self

    @property
    def max_age_delta(self) -> timedelta:
        return parse_duration(self.max_age)

    def _label_args(self) -> list[str]:
        return [self.column, f"max_age={self.max_age}"]

    def columns_used(self) -> list[str]:
        return [self.column]

    def judge_dataset(
        self, query: Callable[[str], pd.DataFrame], table: str, now: datetime
    ) -> CheckResult:
        newest = query(f"SELECT max({quote(self.column)}) AS m FROM {quote(table)}")["m"][0]
        return self.judge(None if pd.isna(newest) else pd.Timestamp(newest).to_pydatetime(), now)

    def judge(self, newest: datetime | None, now: datetime) -> CheckResult:
        """The dataset's newest ``column`` value against the clock's ``now``."""
        if newest is None:
            return CheckResult(
                self.label(), False, note="the dataset holds no rows", severity=self.severity
            )
        if newest.tzinfo is None:
            newest = newest.replace(tzinfo=UTC)
        age = now - newest
        ok = age <= self.max_age_delta
        hours = age.total_seconds() / 3600
        return CheckResult(
            self.label(),
            ok,
            element_count=1,
            unexpected_count=0 if ok else 1,
            severity=self.severity,
            note=f"newest {self.column} is {newest.isoformat()}, "
            f"{hours:.1f} h before now ({now.isoformat()})",
        )


class Distribution(Check):
    """A partition's values of ``column`` resemble a reference snapshot's.

    The distance is the two-sample Kolmogorov–Smirnov statistic (the largest gap between the two
    empirical distribution functions, 0 to 1, from ``heliograph.metrics``); the check fails when
    it exceeds ``max_ks``. ``reference`` is a snapshot id, or ``"latest"`` for the dataset's
    newest snapshot. With no reference available yet the check passes with a note saying so.
    """

    type: Literal["distribution"] = "distribution"
    column: str
    reference: str = "latest"
    max_ks: float = Field(default=0.3, gt=0, le=1)
    min_rows: int = Field(default=20, ge=1)

    def _label_args(self) -> list[str]:
        return [self.column, f"reference={self.reference}", f"max_ks={self.max_ks:g}"]

    def columns_used(self) -> list[str]:
        return [self.column]

    def judge_partitions(
        self, con: Any, part: str, context: CheckContext
    ) -> dict[str, CheckResult]:
        loader = context.reference
        ref = loader(self.reference, self.column) if loader is not None else None
        frame = duck_frame(
            con,
            f"SELECT {part}::VARCHAR AS p, {quote(self.column)}::DOUBLE AS v "
            f"FROM batch WHERE {quote(self.column)} IS NOT NULL",
        )
        out = {}
        for p, values in frame.groupby("p")["v"]:
            n = len(values)
            if ref is None or len(ref) == 0:
                note = f"skipped: no reference snapshot ({self.reference})"
                out[str(p)] = CheckResult(self.label(), True, element_count=n, note=note)
                continue
            if n < self.min_rows:
                note = f"skipped: {n} rows < min_rows {self.min_rows}"
                out[str(p)] = CheckResult(self.label(), True, element_count=n, note=note)
                continue
            stat = ks_statistic(ref, values.to_numpy())
            ok = stat <= self.max_ks
            quantiles = np.quantile(values, [0.1, 0.5, 0.9])
            ref_q = np.quantile(ref, [0.1, 0.5, 0.9])
            out[str(p)] = CheckResult(
                self.label(),
                ok,
                element_count=n,
                unexpected_count=0 if ok else n,
                note=(
                    f"KS distance {stat:.3f} (limit {self.max_ks:g}); p10/p50/p90 "
                    f"{quantiles[0]:.4g}/{quantiles[1]:.4g}/{quantiles[2]:.4g} vs reference "
                    f"{ref_q[0]:.4g}/{ref_q[1]:.4g}/{ref_q[2]:.4g}"
                ),
            )
        return out


Severity = Literal["error", "warn"]


def not_null(column: str, *, mostly: float = 1.0, severity: Severity = "error") -> NotNull:
    return NotNull(column=column, mostly=mostly, severity=severity)


def between(
    column: str,
    min: float | None = None,
    max: float | None = None,
    *,
    mostly: float = 1.0,
    strict_min: bool = False,
    strict_max: bool = False,
    severity: Severity = "error",
) -> Between:
    return Between(
        column=column,
        min=min,
        max=max,
        mostly=mostly,
        strict_min=strict_min,
        strict_max=strict_max,
        severity=severity,
    )


def unique(*columns: str, mostly: float = 1.0, severity: Severity = "error") -> Unique:
    return Unique(columns=list(columns), mostly=mostly, severity=severity)


def row_count(
    *, min: int | None = None, max: int | None = None, severity: Severity = "error"
) -> RowCount:
    return RowCount(min=min, max=max, severity=severity)


def freshness(column: str, *, max_age: str, severity: Severity = "error") -> Freshness:
    return Freshness(column=column, max_age=max_age, severity=severity)


def distribution(
    column: str,
    *,
    reference: str = "latest",
    max_ks: float = 0.3,
    min_rows: int = 20,
    severity: Severity = "error",
) -> Distribution:
    return Distribution(
        column=column, reference=reference, max_ks=max_ks, min_rows=min_rows, severity=severity
    )
