"""What a check found: one result per check and partition (or dataset), with its severity.

>>> result = CheckResult("between(price, -500, 4000)", False, element_count=48,
...                      unexpected_count=3, mostly=1.0)
>>> result.summary()
'between(price, -500, 4000): FAILED, 3 of 48 rows unexpected (6.25%)'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CheckResult"]


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
    def warning(self) -> bool:
        """A failed check of severity ``warn``: recorded and reported, the data kept."""
        return not self.success and self.severity != "error"

    @property
    def verdict(self) -> str:
        """``passed``, ``FAILED`` (blocking) or ``WARNING`` (severity warn)."""
        return "passed" if self.success else "FAILED" if self.blocking else "WARNING"

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
        if self.mostly is None:  # not a row-by-row check: the note says what was measured
            return f"{self.check}: {self.verdict}" + (f" ({self.note})" if self.note else "")
        line = (
            f"{self.check}: {self.verdict}, {self.unexpected_count} of {self.element_count} rows "
            f"unexpected ({self.unexpected_percent:.2f}%)"
        )
        if self.mostly is not None and self.mostly < 1:
            line += f", tolerance {100 * (1 - self.mostly):.2f}%"
        if self.note:
            line += f"; {self.note}"
        return line
