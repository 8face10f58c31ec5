"""Checks: data expectations with tolerances, declared in Python or in ``helio.toml``.

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
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from heliograph.core import CheckError

__all__ = [
    "Between",
    "Check",
    "CheckResult",
    "Distribution",
    "Freshness",
    "NotNull",
    "RowCount",
    "Unique",
    "between",
    "distribution",
    "freshness",
    "not_null",
    "parse_checks",
    "row_count",
    "unique",
]


@dataclass(frozen=True)
class CheckResult:
    """What one check found in one partition (or, for dataset-wide checks, in the dataset)."""

    check: str
    success: bool
    element_count: int = 0
    unexpected_count: int = 0
    mostly: float | None = None
    examples: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""
    severity: str = "error"

    @property
    def blocking(self) -> bool:
        """A failed check of severity ``error`` quarantines; ``warn`` is recorded only."""
        return not self.success and self.severity == "error"

    @property
    def unexpected_percent(self) -> float:
        return 100.0 * self.unexpected_count / self.element_count if self.element_count else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "success": self.success,
            "element_count": self.element_count,
            "unexpected_count": self.unexpected_count,
            "unexpected_percent": round(self.unexpected_percent, 4),
            "mostly": self.mostly,
            "examples": self.examples,
            "note": self.note,
            "severity": self.severity,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        return cls(
            check=data["check"],
            success=data["success"],
            element_count=data.get("element_count", 0),
            unexpected_count=data.get("unexpected_count", 0),
            mostly=data.get("mostly"),
            examples=list(data.get("examples", [])),
            note=data.get("note", ""),
            severity=data.get("severity", "error"),
        )

    def summary(self) -> str:
        """One line a person can read: what was expected and how far the data missed it."""
        verdict = (
            "passed" if self.success else ("FAILED" if self.severity == "error" else "WARNING")
        )
        if self.mostly is None:  # not a row-by-row check: the note says what was measured
            return f"{self.check}: {verdict}" + (f" ({self.note})" if self.note else "")
        line = (
            f"{self.check}: {verdict}, {self.unexpected_count} of {self.element_count} rows "
            f"unexpected ({self.unexpected_percent:.2f}%)"
        )
        if self.mostly is not None and self.mostly < 1:
            line += f", tolerance {100 * (1 - self.mostly):.2f}%"
        if self.note:
            line += f"; {self.note}"
        return line


class Check(BaseModel):
    """Base of every check. ``scope`` says whether it judges each partition or the dataset."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    scope: Literal["partition", "dataset"] = Field(default="partition", exclude=True)
    severity: Literal["error", "warn"] = "error"

    def label(self) -> str:
        args = ", ".join(self._label_args())
        return f"{self.type}({args})"

    def _label_args(self) -> list[str]:
        values = self.model_dump(exclude={"type", "scope", "severity"}, exclude_defaults=True)
        return [f"{k}={v!r}" for k, v in values.items()]

    def columns_used(self) -> list[str]:
        return []


def _mostly() -> Any:
    return Field(default=1.0, gt=0, le=1)


class NotNull(Check):
    type: Literal["not_null"] = "not_null"
    column: str
    mostly: float = _mostly()

    def _label_args(self) -> list[str]:
        return [self.column, *([f"mostly={self.mostly:g}"] if self.mostly < 1 else [])]

    def columns_used(self) -> list[str]:
        return [self.column]


class Between(Check):
    type: Literal["between"] = "between"
    column: str
    min: float | None = None
    max: float | None = None
    strict_min: bool = False
    strict_max: bool = False
    mostly: float = _mostly()

    @model_validator(mode="after")
    def _bounds(self) -> Between:
        if self.min is None and self.max is None:
            raise ValueError("between needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is greater than max ({self.max:g})")
        return self

    def _label_args(self) -> list[str]:
        args = [
            self.column,
            "-inf" if self.min is None else f"{self.min:g}",
            "inf" if self.max is None else f"{self.max:g}",
        ]
        return args + ([f"mostly={self.mostly:g}"] if self.mostly < 1 else [])

    def columns_used(self) -> list[str]:
        return [self.column]


class Unique(Check):
    type: Literal["unique"] = "unique"
    columns: list[str] = Field(min_length=1)
    mostly: float = _mostly()

    def _label_args(self) -> list[str]:
        return [*self.columns, *([f"mostly={self.mostly:g}"] if self.mostly < 1 else [])]

    def columns_used(self) -> list[str]:
        return list(self.columns)


class RowCount(Check):
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


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration like '90min', '6h' or '2d'")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


class Freshness(Check):
    """The newest ``column`` value in the dataset is at most ``max_age`` old at the clock's now."""

    type: Literal["freshness"] = "freshness"
    scope: Literal["partition", "dataset"] = Field(default="dataset", exclude=True)
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


class Distribution(Check):
    """A partition's values of ``column`` resemble a reference snapshot's.

    The distance is the two-sample Kolmogorov–Smirnov statistic (the largest gap between the two
    empirical distribution functions, 0 to 1); the check fails when it exceeds ``max_ks``.
    ``reference`` is a snapshot id, or ``"latest"`` for the dataset's newest snapshot. With no
    reference available yet the check passes with a note saying so.
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


AnyCheck = Annotated[
    NotNull | Between | Unique | RowCount | Freshness | Distribution, Field(discriminator="type")
]
_ADAPTER: TypeAdapter[Any] = TypeAdapter(list[AnyCheck])
CHECK_TYPES = ("between", "distribution", "freshness", "not_null", "row_count", "unique")


def parse_checks(items: Sequence[Mapping[str, Any]], where: str = "checks") -> list[Check]:
    """Checks from configuration entries; errors name the entry, the field and the rule."""
    for index, item in enumerate(items):
        kind = item.get("type")
        if kind not in CHECK_TYPES:
            raise CheckError(
                f"{where}[{index}]: unknown check type {kind!r}",
                field=f"{where}[{index}].type",
                rule="one of " + ", ".join(CHECK_TYPES),
            )
    try:
        return list(_ADAPTER.validate_python(list(items)))
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = list(error["loc"])
        index = loc[0]
        field_name = ".".join(str(p) for p in loc[2:]) or "(entry)"
        message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        raise CheckError(
            f"{where}[{index}]: {field_name}: {message}",
            field=f"{where}[{index}].{field_name}",
            rule=error["type"],
        ) from None


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
