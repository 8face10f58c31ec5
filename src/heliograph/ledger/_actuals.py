"""Actuals: the realised values that judge predictions, one per (service, model, target time).

An actual is what really happened at a target time for the question a registered model
answers (the energy app registers one model per market, ``energy-price-GB``, so the model
name names the series). Recording is an upsert on (service, model_name, target_time):
recording the same actual twice stores it once, and a corrected value replaces the old one.

Example::

    record_actuals(url, [Actual("price-forecast", "energy-price-GB", t, 61.2, source="ingest")])
    read_actuals(url, "price-forecast", since=t0, until=t1)["value"].tolist()
    # [61.2]
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from heliograph.core import as_utc

from ._ledger import LedgerError, _metadata
from ._predictions import _ledger_engine

__all__ = ["Actual", "read_actuals", "record_actuals"]

_KEY = ("service", "model_name", "target_time")
_CHUNK = 5_000

actuals_table = sa.Table(
    "actuals",
    _metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("service", sa.String(128), nullable=False),
    sa.Column("model_name", sa.String(256), nullable=False),
    sa.Column("target_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("source", sa.String(128), nullable=False, default=""),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    # the upsert's key, and the index every read goes through (service, model, time range)
    sa.UniqueConstraint(*_KEY, name="uq_actuals_service_model_target"),
)


@dataclass(frozen=True)
class Actual:
    """The realised ``value`` at ``target_time`` of the question ``model_name`` answers for
    ``service``.

    Example::

        Actual("price-forecast", "energy-price-GB", datetime(2025, 6, 1, 18, tzinfo=UTC), 61.2)
    """

    service: str
    model_name: str
    target_time: datetime
    value: float
    source: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.value, int | float) or not math.isfinite(self.value):
            raise LedgerError(
                f"an actual's value must be a finite number, not {self.value!r}",
                field="value",
                rule="a finite number",
            )
        if not self.service or not self.model_name:
            raise LedgerError(
                "an actual names its service and model", field="service", rule="not empty"
            )


def _insert(engine: sa.Engine) -> Any:
    insert = postgresql_insert if engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert(actuals_table)
    return statement.on_conflict_do_update(
        index_elements=list(_KEY),
        set_={
            "value": statement.excluded.value,
            "source": statement.excluded.source,
            "recorded_at": statement.excluded.recorded_at,
        },
    )


def record_actuals(url: str, actuals: Iterable[Actual]) -> int:
    """Store ``actuals`` (an upsert: the same actual twice is one row, a new value replaces
    the old); returns how many were given. One transaction per 5,000."""
    now = datetime.now(UTC)
    rows = [
        {
            "service": a.service[:128],
            "model_name": a.model_name[:256],
            "target_time": as_utc(a.target_time),
            "value": float(a.value),
            "source": a.source[:128],
            "recorded_at": now,
        }
        for a in actuals
    ]
    if not rows:
        return 0
    with _ledger_engine(url, "record actuals in") as engine:
        statement = _insert(engine)
        for start in range(0, len(rows), _CHUNK):
            with engine.begin() as con:
                con.execute(statement, rows[start : start + _CHUNK])
    return len(rows)


def read_actuals(
    url: str,
    service: str,
    *,
    since: datetime,
    until: datetime,
    model_name: str | None = None,
) -> pd.DataFrame:
    """The actuals of ``service`` with ``since <= target_time < until`` (UTC), as a frame of
    ``model_name``, ``target_time``, ``value``, sorted by model and time."""
    table = actuals_table
    query = (
        sa.select(table.c.model_name, table.c.target_time, table.c.value)
        .where(table.c.service == service)
        .where(table.c.target_time >= as_utc(since), table.c.target_time < as_utc(until))
        .order_by(table.c.model_name, table.c.target_time)
    )
    if model_name is not None:
        query = query.where(table.c.model_name == model_name)
    with _ledger_engine(url, "read actuals from") as engine, engine.connect() as con:
        rows = con.execute(query).all()
    frame = pd.DataFrame(rows, columns=["model_name", "target_time", "value"])
    frame["target_time"] = pd.to_datetime(frame["target_time"], utc=True)
    frame["value"] = frame["value"].astype("float64")
    return frame
