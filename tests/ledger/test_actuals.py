"""Actuals in the ledger: idempotent upserts, joined to the per-target outputs they judge,
on SQLite and on the real PostgreSQL server; monitor results stored pre-aggregated."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from heliograph.ledger import (
    ROW_KEY,
    Actual,
    LedgerError,
    MonitorResult,
    PredictionRecord,
    PredictionWriter,
    judged_predictions,
    last_prediction_times,
    prediction_inputs,
    read_actuals,
    read_monitor_results,
    record_actuals,
    store_monitor_results,
)

T0 = datetime(2025, 6, 1, 12, tzinfo=UTC)
HALF = timedelta(minutes=30)


def energy_record(version: str, role: str, as_of: datetime, p50: list[float]) -> PredictionRecord:
    """A record shaped as the energy service writes it: a list per quantile, one per period."""
    n = len(p50)
    first = as_of + HALF
    inputs = {"columns": ["load", "zone"], "data": [[100.0 + i, "north"] for i in range(n)]}
    return PredictionRecord(
        service="price-forecast",
        model_name="energy-price-GB",
        model_version=version,
        role=role,
        request_id=f"{as_of:%H%M}",
        inputs_hash="ab",
        inputs=inputs,
        outputs={
            "p10": [v - 10 for v in p50],
            "p50": p50,
            "p90": [v + 10 for v in p50],
        },
        latency_ms=2.0,
        as_of=as_of,
        target_start=first,
        target_end=first + (n - 1) * HALF,
        at=as_of,
    )


def write(url: str, tmp_path: Path, records: list[PredictionRecord]) -> None:
    with PredictionWriter(url, tmp_path / "spool") as writer:
        for record in records:
            writer.submit(record)


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


def check_actuals_round_trip(url: str, tmp_path: Path) -> None:
    targets = [T0 + HALF * (i + 1) for i in range(4)]
    first = [
        Actual("price-forecast", "energy-price-GB", t, 50.0 + i) for i, t in enumerate(targets)
    ]
    assert record_actuals(url, first[:3]) == 3
    # the same actuals again, and a correction of one: still one row per target
    record_actuals(url, [*first[:3], Actual("price-forecast", "energy-price-GB", targets[0], 49.0)])
    stored = read_actuals(url, "price-forecast", since=T0, until=T0 + timedelta(days=1))
    assert stored["value"].tolist() == [49.0, 51.0, 52.0]
    assert stored["target_time"].dt.tz is not None

    write(url, tmp_path, [energy_record("3", "champion", T0, [50.0, 52.0, 54.0, 56.0])])
    judged = judged_predictions(url, "price-forecast", since=T0, until=T0 + timedelta(days=1))
    assert judged["target_time"].tolist() == targets
    assert judged["p50"].tolist() == [50.0, 52.0, 54.0, 56.0]
    assert judged["p90"].tolist() == [60.0, 62.0, 64.0, 66.0]
    assert judged["actual"].tolist()[:3] == [49.0, 51.0, 52.0]
    assert math.isnan(judged["actual"].iloc[3])  # no actual yet: NaN, not dropped
    # a window that ends before the last targets leaves them out
    early = judged_predictions(url, "price-forecast", since=T0, until=targets[2])
    assert len(early) == 2
    inputs = prediction_inputs(url, "price-forecast", since=T0, until=T0 + timedelta(hours=1))
    assert inputs["load"].tolist() == [100.0, 101.0, 102.0, 103.0]
    assert set(inputs["zone"]) == {"north"}
    assert last_prediction_times(url) == {"price-forecast": T0}


def test_actuals_are_upserted_and_joined_per_target_on_sqlite(tmp_path: Path) -> None:
    check_actuals_round_trip(sqlite_url(tmp_path), tmp_path)


@pytest.mark.postgres
def test_actuals_are_upserted_and_joined_per_target_on_postgresql(
    postgres_url: str, tmp_path: Path
) -> None:
    check_actuals_round_trip(postgres_url, tmp_path)
    check_monitor_results(postgres_url)


def test_an_actual_that_is_not_a_finite_number_is_refused() -> None:
    with pytest.raises(LedgerError) as caught:
        Actual("price-forecast", "energy-price-GB", T0, float("nan"))
    assert caught.value.field == "value"


def test_reading_actuals_uses_the_unique_index(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    record_actuals(url, [Actual("s", "m", T0, 1.0)])
    engine = sa.create_engine(url)
    with engine.connect() as con:
        plan = con.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT value FROM actuals WHERE service = 's' "
            "AND model_name = 'm' AND target_time >= '2025-01-01'"
        ).all()
    engine.dispose()
    text = " ".join(str(row) for row in plan)
    assert "USING INDEX" in text and "service=? AND model_name=? AND target_time>?" in text


def result(version: str, end: datetime, value: float, name: str = "mae") -> MonitorResult:
    return MonitorResult(
        "price-forecast",
        "energy-price-GB",
        version,
        "champion",
        24.0,
        end,
        "metric",
        name,
        "",
        value,
        96,
    )


def check_monitor_results(url: str) -> None:
    store_monitor_results(url, [result("3", T0, 4.0), result("3", T0, 4.5)])  # same key: one
    store_monitor_results(url, [result("3", T0 + HALF, 5.0), result("4", T0, 3.0)])
    latest = read_monitor_results(url, name="mae")
    assert sorted((r.model_version, r.value) for r in latest) == [("3", 5.0), ("4", 3.0)]
    history = read_monitor_results(url, model_version="3", latest=False)
    assert [(r.window_end, r.value) for r in history] == [(T0, 4.5), (T0 + HALF, 5.0)]


def test_monitor_results_are_stored_once_per_key_and_read_latest(tmp_path: Path) -> None:
    check_monitor_results(sqlite_url(tmp_path))


def test_a_monitor_result_of_an_unknown_kind_or_filter_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LedgerError) as caught:
        MonitorResult("s", "m", "1", "champion", 1.0, T0, "mood", "x", "", 1.0, 1)
    assert caught.value.field == "kind"
    with pytest.raises(LedgerError) as caught:
        read_monitor_results(sqlite_url(tmp_path), colour="red")
    assert caught.value.field == "colour"


def test_inputs_logged_with_a_missing_value_are_read_back_as_nan(tmp_path: Path) -> None:
    """Python's json writes a missing input as ``NaN``; the monitor must still read the row."""
    url = sqlite_url(tmp_path)
    record = dataclasses.replace(
        energy_record("3", "champion", T0, [50.0, 52.0]),
        inputs={"columns": ["load", "zone"], "data": [[float("nan"), "north"], [1.0, "s"]]},
    )
    write(url, tmp_path, [record])
    inputs = prediction_inputs(url, "price-forecast", since=T0, until=T0 + timedelta(hours=1))
    assert math.isnan(inputs["load"].iloc[0]) and inputs["load"].iloc[1] == 1.0


def test_inputs_read_with_select_keep_those_columns_and_count_rows_over_all(
    tmp_path: Path,
) -> None:
    """The monitor reads only the watched columns of hundreds; the rows that differ in a
    column it did not read are still two rows (``ROW_KEY``), and equal rows, NaN included,
    one."""
    url = sqlite_url(tmp_path)
    rows = [
        [1.0, "north", float("nan")],
        [1.0, "south", float("nan")],  # differs only in a column not read
        [1.0, "north", float("nan")],  # the first again, its NaN too
        [2.0, "north", 3.0],
    ]
    record = dataclasses.replace(
        energy_record("3", "champion", T0, [50.0, 52.0, 54.0, 56.0]),
        inputs={"columns": ["load", "zone", "wind"], "data": rows},
    )
    write(url, tmp_path, [record])
    window = {"since": T0, "until": T0 + timedelta(hours=1)}
    everything = prediction_inputs(url, "price-forecast", **window)
    chosen = prediction_inputs(
        url, "price-forecast", **window, select=lambda names: [n for n in names if n == "load"]
    )
    assert [c for c in chosen.columns if c not in everything.columns] == [ROW_KEY]
    assert "zone" not in chosen and "wind" not in chosen
    assert chosen["load"].tolist() == [1.0, 1.0, 1.0, 2.0]
    assert (
        chosen[ROW_KEY].nunique()
        == 3
        == len(everything[["load", "zone", "wind"]].drop_duplicates())
    )
    assert chosen["model_version"].tolist() == ["3"] * 4
