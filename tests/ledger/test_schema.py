"""The ledger's schema on an older database, and the reads the dashboard relies on at scale:
indexes added on open (by one process when several open it at once), exact per-version
prediction counts, the newest monitor pass found by index probes, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from heliograph.ledger import (
    MonitorResult,
    PredictionRecord,
    PredictionWriter,
    monitor_history,
    predictions_per_version,
    read_monitor_results,
    store_monitor_results,
)

T0 = datetime(2025, 6, 1, tzinfo=UTC)
NEW_INDEXES = {"ix_monitor_results_group_end", "ix_monitor_results_history"}  # and events


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return str(request.getfixturevalue("postgres_url"))


def _record(version: str, i: int) -> PredictionRecord:
    return PredictionRecord("price", "gb", version, "champion", f"req-{i}", "h", {"p": i}, 1.0)


def _write(url: str, folder: Path, records: list[PredictionRecord]) -> None:
    with PredictionWriter(url, folder) as writer:
        for record in records:
            writer.submit(record)


def _result(version: str, end: datetime, name: str, value: float, **kw: object) -> MonitorResult:
    head = {"service": "price-forecast", "model_name": "gb", "role": "champion"}
    head |= {"window_hours": 24.0, "kind": "metric", "feature": ""} | kw
    return MonitorResult(
        model_version=version, window_end=end, name=name, value=value, count=9, **head
    )


def _make_old(url: str) -> None:
    """The ledger as the previous release left it: without the new indexes."""
    engine = sa.create_engine(url)
    with engine.begin() as con:
        for index in [*NEW_INDEXES, "ix_events_kind_id"]:
            con.exec_driver_sql(f"DROP INDEX {index}")
    engine.dispose()


def _indexes(url: str) -> set[str]:
    engine = sa.create_engine(url)
    inspector = sa.inspect(engine)
    found = {ix["name"] for t in ("monitor_results", "events") for ix in inspector.get_indexes(t)}
    engine.dispose()
    return {str(name) for name in found}


def _reopen(url: str) -> None:
    """What a new process sees: the shared engines are per process, so drop them."""
    from heliograph.ledger import _predictions

    for engine in _predictions._SHARED.values():
        engine.dispose()
    _predictions._SHARED.clear()


def test_an_old_ledger_gains_its_indexes_on_open_and_counts_exactly(
    url: str, tmp_path: Path
) -> None:
    _write(url, tmp_path / "spool", [_record(v, i) for i, v in enumerate("11122")])
    store_monitor_results(url, [_result("1", T0, "mae", 4.0)])
    _reopen(url)
    _make_old(url)
    assert not NEW_INDEXES & _indexes(url)
    _write(url, tmp_path / "spool-old", [_record("2", 7)])  # a writer opens it first: migrated

    assert {*NEW_INDEXES, "ix_events_kind_id"} <= _indexes(url)
    assert predictions_per_version(url, [("gb", "1"), ("gb", "2"), ("gb", "9")]) == {
        ("gb", "1"): 3,
        ("gb", "2"): 3,
        ("gb", "9"): 0,
    }
    again = _record("1", 9)
    _write(url, tmp_path / "spool", [again, again])  # a replayed record is stored (counted) once
    engine = sa.create_engine(url)
    with engine.begin() as con:
        con.execute(sa.text("DELETE FROM predictions WHERE request_id = 'req-0'"))
    engine.dispose()
    assert predictions_per_version(url, [("gb", "1")]) == {("gb", "1"): 3}


def test_processes_opening_an_old_ledger_at_once_all_read_it(url: str, tmp_path: Path) -> None:
    """Replicas, the scheduler and the dashboard start together on a ledger an older release
    made: one builds the indexes, the others wait for it (PostgreSQL) or read without them
    for now (SQLite, whose write lock is held meanwhile); none fails."""
    _write(url, tmp_path / "spool", [_record("1", i) for i in range(3)])
    store_monitor_results(url, [_result("1", T0, "mae", 4.0)])
    _reopen(url)
    _make_old(url)
    from heliograph.ledger._schema import create_tables

    failures: list[BaseException] = []

    def open_it() -> None:
        engine = sa.create_engine(url)  # its own engine: what another process has
        try:
            create_tables(engine)
        except BaseException as exc:  # the test reports it
            failures.append(exc)
        finally:
            engine.dispose()

    if url.startswith("sqlite"):  # a builder holds the write lock: the opener goes on
        holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("PRAGMA busy_timeout = 0")
        holder.execute("BEGIN IMMEDIATE")
        engine = sa.create_engine(url, connect_args={"timeout": 0.2})
        create_tables(engine)
        engine.dispose()
        holder.execute("ROLLBACK")
        holder.close()
        assert not NEW_INDEXES & _indexes(url)  # not built yet; the next open builds them
    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert {*NEW_INDEXES, "ix_events_kind_id"} <= _indexes(url)
    assert [r.value for r in read_monitor_results(url, name="mae")] == [4.0]


def test_latest_is_each_groups_newest_pass_whatever_is_asked(url: str) -> None:
    hour = timedelta(hours=1)
    store_monitor_results(
        url,
        [
            _result("1", T0, "mae", 4.0),
            _result("1", T0, "rmse", 6.0),
            _result("1", T0 + hour, "mae", 5.0),  # the newest pass has no rmse
            _result("1", T0 + hour, "mae", 2.0, window_hours=168.0),
            _result("2", T0, "mae", 3.0),
            _result("2", T0 + 2 * hour, "psi", 0.2, kind="drift", feature="load"),
            _result("", T0 + 2 * hour, "alerting", 1.0, service="job:predict", kind="health"),
        ],
    )
    latest = read_monitor_results(url, name="mae")
    assert sorted((r.model_version, r.window_hours, r.value) for r in latest) == [
        ("1", 24.0, 5.0),
        ("1", 168.0, 2.0),
        ("2", 24.0, 3.0),  # its newest metric pass; the drift's newer pass is another group
    ]
    assert read_monitor_results(url, name="rmse") == []  # not in its group's newest pass
    assert [r.value for r in read_monitor_results(url, kind="drift")] == [0.2]
    assert [r.service for r in read_monitor_results(url, kind="health")] == ["job:predict"]
    every = read_monitor_results(url, service="price-forecast", model_version="1", latest=False)
    assert [r.window_end for r in every] == [T0, T0, T0 + hour, T0 + hour]  # oldest first
    history = monitor_history(url, "price-forecast", since=T0, kind="metric", name="mae")
    assert [r.value for r in history] == [4.0, 3.0, 5.0, 2.0]  # ordered by window end, id
