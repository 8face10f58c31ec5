"""Checks: Great Expectations' `mostly` semantics, per partition, in one pass."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from heliograph.checks import (
    CheckResult,
    between,
    check_freshness,
    conform,
    distribution,
    freshness,
    not_null,
    parse_checks,
    row_count,
    run_checks,
    unique,
)
from heliograph.core import CheckError


def table(**columns: list[object]) -> pa.Table:
    n = len(next(iter(columns.values())))
    return pa.table({"p": ["d1"] * n, **columns})


def one(checks: list, **columns: list[object]) -> CheckResult:  # type: ignore[type-arg]
    return run_checks(table(**columns), "p", checks)["d1"][0]


def test_between_mostly_counts_only_non_null_values() -> None:
    # 10 rows: 4 null, 6 non-null of which 1 out of range -> 5/6 = 0.833 in range.
    values = [1.0, 2.0, None, None, 3.0, 99.0, None, 4.0, None, 5.0]
    assert one([between("x", 0, 10, mostly=0.83)], x=values).success
    failed = one([between("x", 0, 10, mostly=0.84)], x=values)
    assert not failed.success
    assert (failed.element_count, failed.unexpected_count) == (6, 1)
    assert failed.examples == [{"x": 99.0}]
    # Were nulls counted as passing, 9/10 = 0.9 would pass mostly=0.84: they must not be.


def test_all_null_column_passes_between_vacuously_and_fails_not_null() -> None:
    values = [None, None, None]
    assert one([between("x", 0, 1)], x=values).success
    result = one([not_null("x", mostly=0.5)], x=values)
    assert not result.success and result.unexpected_count == 3


def test_not_null_mostly_counts_every_row() -> None:
    values = [1.0] * 95 + [None] * 5
    assert one([not_null("x", mostly=0.95)], x=values).success
    assert not one([not_null("x", mostly=0.96)], x=values).success


def test_bounds_and_strictness() -> None:
    assert one([between("x", 0, 1)], x=[0.0, 1.0]).success
    assert not one([between("x", 0, 1, strict_max=True)], x=[0.0, 1.0]).success
    assert one([between("x", min=0)], x=[0.0, 1e9]).success
    assert not one([between("x", max=0)], x=[1.0]).success


def test_results_are_per_partition() -> None:
    t = pa.table({"p": ["a"] * 4 + ["b"] * 4, "x": [1, 2, 3, 4, 1, 2, 3, 400]})
    results = run_checks(t, "p", [between("x", 0, 10)])
    assert results["a"][0].success and not results["b"][0].success


def test_unique_finds_every_duplicated_row_and_ignores_all_null_keys() -> None:
    result = one([unique("k", "j")], k=[1, 1, 2, None, None], j=[1, 1, 1, None, None])
    assert not result.success
    assert result.unexpected_count == 2 and result.element_count == 3


def test_row_count_range() -> None:
    assert one([row_count(min=2, max=3)], x=[1, 2]).success
    result = one([row_count(min=3)], x=[1, 2])
    assert not result.success and "2 rows, expected 3" in result.summary()


def test_distribution_against_a_reference() -> None:
    rng = np.random.default_rng(1)
    reference = rng.normal(50, 10, 5000)
    same = one([distribution("x")], x=list(rng.normal(50, 10, 200)))
    assert same.success  # no reference loader: skipped, says so
    assert "no reference" in same.note
    t = table(x=list(rng.normal(50, 10, 200)))
    assert run_checks(t, "p", [distribution("x")], reference=lambda r, c: reference)["d1"][
        0
    ].success
    shifted = table(x=list(rng.normal(90, 10, 200)))
    result = run_checks(
        shifted, "p", [distribution("x", max_ks=0.3)], reference=lambda r, c: reference
    )["d1"][0]
    assert not result.success and "KS distance" in result.note


def test_freshness_is_judged_on_the_clock() -> None:
    check = freshness("available_at", max_age="2d")
    now = datetime(2025, 6, 10, tzinfo=UTC)
    assert check_freshness(check, datetime(2025, 6, 9, tzinfo=UTC), now).success
    stale = check_freshness(check, datetime(2025, 6, 1, tzinfo=UTC), now)
    assert not stale.success and "216.0 h before now" in stale.note
    assert not check_freshness(check, None, now).success


def test_warn_severity_is_recorded_but_not_blocking() -> None:
    result = one([between("x", 0, 1, severity="warn")], x=[5.0])
    assert not result.success and not result.blocking
    assert "WARNING" in result.summary()


def test_conform_reports_row_numbers_and_values() -> None:
    frame = pd.DataFrame(
        {"t": ["2025-01-01T00:00Z", "yesterday", "2025-01-01 01:00"], "n": ["1", "2.5", ""]}
    )
    converted, result = conform(frame, {"t": "timestamp", "n": "bigint"})
    assert converted is None and not result.success
    assert {
        "column": "t",
        "row": 2,
        "value": "yesterday",
        "rule": "value is timestamp",
    } in result.examples
    assert {"column": "n", "row": 2, "value": "2.5", "rule": "value is bigint"} in result.examples
    good, ok = conform(
        pd.DataFrame({"t": ["2025-01-01T01:00+01:00"], "n": ["7"]}),
        {"t": "timestamp", "n": "bigint"},
    )
    assert ok.success and good is not None
    assert good.column("t")[0].as_py() == datetime(2025, 1, 1, tzinfo=UTC)


def test_config_entries_become_checks_and_errors_name_the_field() -> None:
    checks = parse_checks(
        [{"type": "between", "column": "price", "min": -500, "max": 4000, "mostly": 0.99}],
        where="datasets.p.checks",
    )
    assert checks == [between("price", -500, 4000, mostly=0.99)]
    with pytest.raises(CheckError, match=r"datasets.p.checks\[0\]: unknown check type") as info:
        parse_checks([{"type": "betwen", "column": "x"}], where="datasets.p.checks")
    assert "between" in (info.value.rule or "")
    with pytest.raises(CheckError, match=r"\[1\]: mostly: Input should be less than or equal"):
        parse_checks(
            [
                {"type": "not_null", "column": "x"},
                {"type": "not_null", "column": "x", "mostly": 1.5},
            ]
        )
    with pytest.raises(CheckError, match="min .* is greater than max"):
        parse_checks([{"type": "between", "column": "x", "min": 5, "max": 1}])
    with pytest.raises(CheckError, match="unknown key"):
        parse_checks([{"type": "between", "column": "x", "min": 0, "maxx": 1}])


def test_unknown_column_is_an_error_not_a_pass() -> None:
    with pytest.raises(CheckError, match="'y'"):
        run_checks(table(x=[1]), "p", [between("y", 0, 1)])


def test_a_check_type_is_one_declaration() -> None:
    """Issue 9: a new check type took four edits in two files; now it is one class."""
    from typing import Literal

    from heliograph.checks import CHECKS, RowCheck, mostly_field, parse_checks, quote

    class Positive(RowCheck):
        type: Literal["positive_test"] = "positive_test"
        column: str
        mostly: float = mostly_field()

        def predicate(self) -> tuple[str, str, str]:
            col = quote(self.column)
            return f"{col} IS NOT NULL", f"{col} <= 0", "non-null values"

        def columns_used(self) -> list[str]:
            return [self.column]

    try:
        [check] = parse_checks([{"type": "positive_test", "column": "price", "mostly": 0.9}])
        assert isinstance(check, Positive)
        table = pa.table({"day": ["a"] * 10 + ["b"] * 10, "price": [1.0] * 19 + [-1.0]})
        results = run_checks(table, "day", [check])
        assert results["a"][0].success and results["b"][0].success  # 1 of 10 within mostly
        assert results["b"][0].unexpected_count == 1
        with pytest.raises(CheckError, match="mostly"):
            parse_checks([{"type": "positive_test", "column": "price", "mostly": 2}])
    finally:
        CHECKS.pop("positive_test")
