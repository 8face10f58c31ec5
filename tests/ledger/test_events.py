"""Ledger events on SQLite (the default) and on the real PostgreSQL server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from heliograph.ledger import Ledger, LedgerError


def exercise(ledger: Ledger) -> None:
    first = ledger.record(
        "data_quarantined", "prices/date=2025-06-01/part-ab", "price > 4000", details={"rows": 48}
    )
    ledger.record("snapshot_taken", "prices@123", "144 rows", actor="scheduler")
    ledger.record("data_quarantined", "other/date=2025-06-02/part-cd", "nulls")
    newest = ledger.events()
    assert [e.kind for e in newest] == ["data_quarantined", "snapshot_taken", "data_quarantined"]
    assert newest[-1].id == first and newest[-1].details == {"rows": 48}
    assert newest[-1].at.tzinfo is not None
    assert [e.subject for e in ledger.events(kind="data_quarantined", subject="prices/")] == [
        "prices/date=2025-06-01/part-ab"
    ]
    assert ledger.events(subject="prices_") == []  # '_' is not a wildcard
    assert ledger.events(kind="snapshot_taken")[0].actor == "scheduler"
    # the events a run wrote at its scheduled time, however that time is spelled
    at = datetime(2025, 6, 1, 12, tzinfo=UTC)
    ledger.record_many([("alert_raised", "a", "x", None), ("alert_raised", "b", "y", None)], at=at)
    ledger.record("alert_raised", "c", "an hour later", at=at + timedelta(hours=1))
    paris = at.astimezone(timezone(timedelta(hours=2)))
    assert [e.subject for e in ledger.events(kind="alert_raised", at=paris)] == ["b", "a"]


def test_events_on_sqlite_in_wal_mode(tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'state' / 'ledger.db'}")
    exercise(ledger)
    with ledger.engine.connect() as con:
        assert con.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


@pytest.mark.postgres
def test_events_on_postgresql(postgres_url: str) -> None:
    ledger = Ledger(postgres_url)
    exercise(ledger)
    assert ledger.engine.dialect.name == "postgresql"
    with ledger.engine.connect() as con:
        assert con.execute(sa.text("SELECT count(*) FROM events")).scalar() == 6
    ledger.close()


@pytest.mark.postgres
def test_a_ledger_closes_its_connections_when_closed_or_dropped(postgres_url: str) -> None:
    """A ledger's pooled connection is closed by ``close()``, a ``with`` block, or as soon as
    the ledger is dropped: never left for the garbage collector to find during other code."""
    probe = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)

    def others() -> int:
        with probe.connect() as con:
            return int(
                con.exec_driver_sql(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).scalar_one()
            )

    ledger = Ledger(postgres_url)
    ledger.record("snapshot_taken", "prices@1", "kept open by the pool")
    assert others() == 1
    del ledger  # no close(), no gc.collect(): dropping it is enough
    assert others() == 0

    with Ledger(postgres_url) as ledger:
        ledger.record("snapshot_taken", "prices@2", "in a with block")
        assert others() == 1
    assert others() == 0
    ledger.close()  # closing twice is harmless
    ledger.record("snapshot_taken", "prices@3", "used again after close(): it reconnects")
    assert others() == 1
    ledger.close()  # and closing it again closes that connection too
    assert others() == 0
    assert [e.subject for e in Ledger(postgres_url).events()] == [
        "prices@3",
        "prices@2",
        "prices@1",
    ]
    assert others() == 0
    probe.dispose()


def test_unreachable_database_is_a_sentence_not_a_traceback() -> None:
    ledger = Ledger("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(LedgerError, match="cannot open the ledger") as info:
        ledger.record("x", "y", "z")
    assert info.value.hint and "running" in info.value.hint


def test_a_malformed_url_names_the_setting() -> None:
    with pytest.raises(LedgerError) as info:
        Ledger("not a url")
    assert info.value.field == "ledger.url"
