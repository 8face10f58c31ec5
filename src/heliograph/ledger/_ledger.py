"""The ledger: the database of every prediction, actual and event, through SQLAlchemy.

SQLite in WAL mode by default (a file in the state folder); PostgreSQL in production, by URL
alone. This first part holds the events: every state change (a quarantine, a snapshot, a
failed check, later deployments, promotions and rollbacks) with its reason, who and when.

Example::

    ledger = Ledger("sqlite:///.helio/ledger.db")
    ledger.record("data_quarantined", "energy_prices/date=2025-06-01", "price out of range")
    [e.kind for e in ledger.events(limit=5)]
    # ['data_quarantined']
"""

from __future__ import annotations

import getpass
import json
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from heliograph.core import HelioError, as_utc

__all__ = ["Event", "Ledger", "LedgerError"]


class LedgerError(HelioError):
    """The ledger database cannot be reached or written."""


_metadata = sa.MetaData()
events_table = sa.Table(
    "events",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("kind", sa.String(64), nullable=False, index=True),
    sa.Column("subject", sa.String(512), nullable=False, index=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("details", sa.Text, nullable=False, default="{}"),
    # the newest N of one kind (the dashboard's alerts and timeline) without sorting every
    # event of that kind: SQLite's kind index holds the rowid, PostgreSQL's does not
    sa.Index("ix_events_kind_id", "kind", "id"),
)


@dataclass(frozen=True)
class Event:
    id: int
    at: datetime
    kind: str
    subject: str
    reason: str
    actor: str
    details: dict[str, Any]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _row(
    kind: str,
    subject: str,
    reason: str,
    details: dict[str, Any] | None,
    actor: str | None,
    at: datetime | None,
) -> dict[str, Any]:
    return {
        "at": as_utc(at) if at else datetime.now(UTC),
        "kind": kind,
        "subject": subject[:512],
        "reason": reason,
        "actor": actor or _user(),
        "details": json.dumps(details or {}, default=str),
    }


class Ledger:
    """A connection to the ledger database; tables are created on first use.

    Its engine's pool is disposed by ``close()``, at the end of a ``with`` block, or when the
    ledger is collected: a connection is never left for the garbage collector to close
    (psycopg warns then, in whatever code happens to run).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = sa.create_engine(url, pool_pre_ping=True)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise LedgerError(
                f"cannot use ledger URL {self.safe_url()}: {exc}",
                field="ledger.url",
                rule="an SQLAlchemy database URL",
            ) from None
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self._ready = False
        weakref.finalize(self, self.engine.dispose)  # dropped without close()

    def safe_url(self) -> str:
        """The URL with any password hidden, for messages."""
        try:
            return sa.make_url(self.url).render_as_string(hide_password=True)
        except Exception:  # a URL too broken to parse is shown as given, minus nothing secret
            return "(unparseable URL)"

    def _ensure(self) -> None:
        if self._ready:
            return
        if self.engine.dialect.name == "sqlite":
            database = self.engine.url.database
            if database and database != ":memory:":
                from pathlib import Path

                Path(database).parent.mkdir(parents=True, exist_ok=True)
        from ._schema import create_tables  # it reads the other modules' tables

        try:
            create_tables(self.engine)
        except SQLAlchemyError as exc:
            raise LedgerError(
                f"cannot open the ledger at {self.safe_url()}: {str(exc).splitlines()[0]}",
                field="ledger.url",
                hint="is the database server running and reachable?",
            ) from None
        self._ready = True

    def record(
        self,
        kind: str,
        subject: str,
        reason: str,
        *,
        details: dict[str, Any] | None = None,
        actor: str | None = None,
        at: datetime | None = None,
    ) -> int:
        """Write one event and return its id."""
        self._ensure()
        row = _row(kind, subject, reason, details, actor, at)
        try:
            with self.engine.begin() as con:
                key = con.execute(events_table.insert().values(**row)).inserted_primary_key
                assert key is not None  # an INSERT of one row always returns its key
                return int(key[0])
        except SQLAlchemyError as exc:
            raise LedgerError(
                f"cannot write to the ledger at {self.safe_url()}: {str(exc).splitlines()[0]}"
            ) from None

    def record_many(
        self,
        events: Sequence[tuple[str, str, str, dict[str, Any] | None]],
        *,
        actor: str | None = None,
        at: datetime | None = None,
    ) -> int:
        """Write ``(kind, subject, reason, details)`` events in one transaction: all or none
        (a fault writes nothing, so a retry loses nothing); returns how many were written."""
        if not events:
            return 0
        self._ensure()
        rows = [_row(k, s, r, d, actor, at) for k, s, r, d in events]
        try:
            with self.engine.begin() as con:
                con.execute(events_table.insert(), rows)
        except SQLAlchemyError as exc:
            raise LedgerError(
                f"cannot write to the ledger at {self.safe_url()}: {str(exc).splitlines()[0]}"
            ) from None
        return len(rows)

    def events(
        self,
        *,
        kind: str | None = None,
        subject: str | None = None,
        limit: int = 100,
        at: datetime | None = None,
    ) -> list[Event]:
        """The newest events first, optionally of one kind, about subjects with a prefix, or
        carrying exactly the time ``at`` (what a job's run records at its scheduled time)."""
        self._ensure()
        query = sa.select(events_table).order_by(events_table.c.id.desc()).limit(limit)
        if kind:
            query = query.where(events_table.c.kind == kind)
        if subject:
            query = query.where(events_table.c.subject.startswith(subject, autoescape=True))
        if at is not None:
            query = query.where(events_table.c.at == as_utc(at))
        try:
            with self.engine.connect() as con:
                rows = con.execute(query).mappings().all()
        except SQLAlchemyError as exc:
            raise LedgerError(
                f"cannot read the ledger at {self.safe_url()}: {str(exc).splitlines()[0]}"
            ) from None
        return [
            Event(
                id=r["id"],
                at=as_utc(r["at"]),
                kind=r["kind"],
                subject=r["subject"],
                reason=r["reason"],
                actor=r["actor"],
                details=json.loads(r["details"]),
            )
            for r in rows
        ]

    def close(self) -> None:
        """Close the pool's connections (the ledger reconnects if used again)."""
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
