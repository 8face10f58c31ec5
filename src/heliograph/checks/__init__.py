"""Checks: data expectations with tolerances, run on every new partition.

Example::

    from heliograph.checks import between, run_checks
    results = run_checks(table, "date", [between("price", -500, 4000, mostly=0.99)])

A check type is one class (``RowCheck`` or ``Check`` subclass, see ``_check``); declaring it
registers it in ``CHECKS`` under its ``type`` name, which ``helio.toml`` entries use.
"""

from __future__ import annotations

from ._builtin import (
    Between,
    Distribution,
    Freshness,
    NotNull,
    RowCount,
    Unique,
    between,
    distribution,
    freshness,
    not_null,
    parse_duration,
    row_count,
    unique,
)
from ._check import (
    CHECKS,
    MAX_EXAMPLES,
    Check,
    CheckContext,
    ReferenceLoader,
    RowCheck,
    mostly_field,
    parse_checks,
    quote,
)
from ._engine import check_freshness, judge_row_count, run_checks, run_dataset_checks
from ._result import CheckResult
from ._schema import COLUMN_TYPES, arrow_schema, conform, to_arrow

__all__ = [
    "CHECKS",
    "COLUMN_TYPES",
    "MAX_EXAMPLES",
    "Between",
    "Check",
    "CheckContext",
    "CheckResult",
    "Distribution",
    "Freshness",
    "NotNull",
    "ReferenceLoader",
    "RowCheck",
    "RowCount",
    "Unique",
    "arrow_schema",
    "between",
    "check_freshness",
    "conform",
    "distribution",
    "freshness",
    "judge_row_count",
    "mostly_field",
    "not_null",
    "parse_checks",
    "parse_duration",
    "quote",
    "row_count",
    "run_checks",
    "run_dataset_checks",
    "to_arrow",
    "unique",
]
