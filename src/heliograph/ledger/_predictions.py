"""Prediction records: one answered prediction, its table in the ledger and the engine on it.

The writer (``_prediction_writer``) stores records in the background and spools them while
the database is down; ``read_predictions`` and ``count_predictions`` read them back.

Example::

    PredictionRecord("price", "gb", "3", "champion", "r1", "ab", {"p": 6}, 3.1).to_row()["role"]
    # 'champion'
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError

from heliograph.core import as_utc

from ._ledger import LedgerError, _metadata, _sqlite_pragmas

__all__ = ["JsonText", "PredictionRecord"]

_ROLES = ("champion", "challenger")
_LENGTHS = {"record_id": 32, "service": 128, "model_name": 256, "model_version": 32, "role": 16}
_LENGTHS |= {"request_id": 64, "inputs_hash": 64}
_TIMES = ("as_of", "target_start", "target_end")
_FILTERS = ("service", "model_name", "role")
# "The database is not there" (spool, retry later), as opposed to "this row is bad".
_DOWN = (OperationalError, InterfaceError, DisconnectionError, sa.exc.TimeoutError, OSError)
_PG_ARGS = {"connect_timeout": 3, "keepalives_idle": 10}  # libpq, unless the URL sets them
_dumps = partial(json.dumps, default=str, separators=(",", ":"))

predictions_table = sa.Table(
    "predictions",
    _metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("record_id", sa.String(32), nullable=False, unique=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    *(sa.Column(n, sa.String(_LENGTHS[n]), nullable=False) for n in (*_FILTERS, "model_version")),
    sa.Column("request_id", sa.String(64), nullable=False, index=True),
    *(sa.Column(name, sa.DateTime(timezone=True), nullable=True) for name in _TIMES),
    sa.Column("inputs_hash", sa.String(64), nullable=False),
    sa.Column("inputs", sa.Text, nullable=True),
    sa.Column("outputs", sa.Text, nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Index("ix_predictions_service_at", "service", "at"),
    sa.Index("ix_predictions_model", "model_name", "model_version"),
)


class JsonText(str):
    """Inputs or outputs that are already JSON text (e.g. from ``orjson.dumps``): stored as
    they are, not encoded again.

    Example::

        PredictionRecord(..., outputs=JsonText('{"p50": [41.2, 40.8]}'), ...)
    """

    __slots__ = ()


def _value(value: Any) -> Any:
    return json.loads(value) if isinstance(value, JsonText) else value


def _time(value: Any) -> datetime:
    return as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


@dataclass(frozen=True)
class PredictionRecord:
    """One answered prediction; ``inputs`` and ``outputs`` are JSON values (dicts, lists, ...).

    Example::

        PredictionRecord("price", "gb", "3", "champion", "req-1", "ab12", {"price": 61.2}, 3.1)
    """

    service: str
    model_name: str
    model_version: str
    role: str
    request_id: str
    inputs_hash: str
    outputs: Any
    latency_ms: float
    inputs: Any = None
    as_of: datetime | None = None
    target_start: datetime | None = None
    target_end: datetime | None = None
    record_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if self.role not in _ROLES:
            raise LedgerError(f"role is champion or challenger, not {self.role!r}", field="role")

    def to_row(self) -> dict[str, Any]:
        """A JSON-friendly dict: times as ISO 8601 strings, inputs and outputs as they are."""
        row = {name: getattr(self, name) for name in _LENGTHS}
        for name in ("at", *_TIMES):
            value = getattr(self, name)
            row[name] = None if value is None else value.isoformat()
        row.update(inputs=_value(self.inputs), outputs=_value(self.outputs))
        row["latency_ms"] = self.latency_ms
        return row

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> PredictionRecord:
        """The record from ``to_row()`` (times as strings or datetimes); other keys are ignored."""
        times: dict[str, Any] = {n: None if row.get(n) is None else _time(row[n]) for n in _TIMES}
        return cls(
            **{name: row[name] for name in _LENGTHS},
            **times,
            at=_time(row["at"]),
            inputs=row.get("inputs"),
            outputs=row["outputs"],
            latency_ms=float(row["latency_ms"]),
        )


def _text(value: Any) -> str:
    return str.__str__(value) if isinstance(value, JsonText) else _dumps(value)


def _db_row(record: PredictionRecord) -> dict[str, Any]:
    """The table row: strings clipped to their columns, times in UTC, JSON as text."""
    row: dict[str, Any] = {
        name: str(getattr(record, name)).replace("\x00", "")[:size]
        for name, size in _LENGTHS.items()
    }
    for name in ("at", *_TIMES):
        value = getattr(record, name)
        row[name] = None if value is None else as_utc(value)
    row["inputs"] = None if record.inputs is None else _text(record.inputs)
    row["outputs"] = _text(record.outputs)  # a value that is not JSON gets rejected
    row["latency_ms"] = float(record.latency_ms)
    return row


def _first_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}"


def _engine(url: str) -> sa.Engine:
    """An engine on SQLite (WAL, its folder made) or PostgreSQL (short connect timeout)."""
    try:
        parsed = sa.make_url(url)
        psycopg = parsed.get_driver_name().startswith("psycopg")
        args = {k: v for k, v in _PG_ARGS.items() if k not in parsed.query} if psycopg else {}
        engine = sa.create_engine(parsed, pool_pre_ping=True, connect_args=args)
        if engine.dialect.name not in ("sqlite", "postgresql"):
            raise ValueError(f"the prediction ledger needs SQLite or PostgreSQL, not {parsed}")
        if engine.dialect.name == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
    except (SQLAlchemyError, ImportError, ValueError, OSError) as exc:
        rule = "an SQLAlchemy sqlite:// or postgresql:// URL"
        raise LedgerError(f"cannot use ledger URL: {exc}", field="ledger.url", rule=rule) from None
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


_SHARED: OrderedDict[tuple[str, int], sa.Engine] = OrderedDict()
_SHARED_LOCK = threading.Lock()
_SHARED_MAX = 8  # ledgers one process reads; the oldest engine is disposed beyond it


def _shared_engine(url: str) -> sa.Engine:
    """One engine per ledger URL and process, its tables created once: the readers' and
    small writers' engine (a forked worker gets its own; the pool is not shared across fork)."""
    key = (url, os.getpid())
    with _SHARED_LOCK:
        engine = _SHARED.get(key)
        if engine is not None:
            _SHARED.move_to_end(key)
            return engine
    from ._schema import create_tables  # it reads the other modules' tables

    engine = _engine(url)
    try:
        create_tables(engine)
    except BaseException:
        engine.dispose()
        raise
    with _SHARED_LOCK:
        _SHARED[key] = engine
        while len(_SHARED) > _SHARED_MAX:
            _, old = _SHARED.popitem(last=False)
            old.dispose()
    return engine


@contextmanager
def _ledger_engine(url: str, doing: str) -> Iterator[sa.Engine]:
    """The shared engine on ``url``; a database fault inside becomes a ``LedgerError`` that
    says what was being done (``"read actuals from"``) and where, never a stack trace."""
    engine: sa.Engine | None = None
    try:
        engine = _shared_engine(url)
        yield engine
    except (SQLAlchemyError, OSError) as exc:
        where = sa.make_url(url).render_as_string(hide_password=True)
        message = f"cannot {doing} the ledger at {where}: {_first_line(exc)}"
        raise LedgerError(message, field="ledger.url", hint="is the database reachable?") from None
