"""Monitor results: live metrics and drift, pre-aggregated per model version and window.

The ``monitor`` job writes one row per (service, model, version, role, window, window end,
kind, name, feature); the dashboard and promotion read these rows, never the raw
predictions. Writing is an upsert on that key, so running the job twice for the same window
end stores each figure once.

Example::

    store_monitor_results(url, [MonitorResult("price-forecast", "energy-price-GB", "3",
                                              "champion", 24.0, end, "metric", "mae", "", 4.1, 96)])
    [r.value for r in read_monitor_results(url, service="price-forecast", name="mae")]
    # [4.1]
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from heliograph.core import as_utc

from ._ledger import LedgerError, _metadata
from ._predictions import _ledger_engine

__all__ = ["MONITOR_KINDS", "MonitorResult", "read_monitor_results", "store_monitor_results"]

MONITOR_KINDS = ("metric", "drift", "health")
"""What a monitor result measures: live performance, distribution drift, service health."""

_KEY = (
    "service",
    "model_name",
    "model_version",
    "role",
    "window_hours",
    "window_end",
    "kind",
    "name",
    "feature",
)
_FILTERS = ("service", "model_name", "model_version", "role", "kind", "name", "feature")
_CHUNK = 5_000

monitor_results_table = sa.Table(
    "monitor_results",
    _metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("service", sa.String(128), nullable=False),
    sa.Column("model_name", sa.String(256), nullable=False),
    sa.Column("model_version", sa.String(32), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("window_hours", sa.Float, nullable=False),
    sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("feature", sa.String(256), nullable=False),
    sa.Column("value", sa.Float, nullable=True),  # NULL: not computable (no data)
    sa.Column("count", sa.BigInteger, nullable=False),
    sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint(*_KEY, name="uq_monitor_results_key"),
    sa.Index("ix_monitor_results_service_end", "service", "window_end"),
)


@dataclass(frozen=True)
class MonitorResult:
    """One figure of one model version over one window ending at ``window_end``.

    ``kind`` is one of ``MONITOR_KINDS``; ``name`` the metric or statistic (``mae``, ``psi``, ...);
    ``feature`` the column it is about (``""`` for a metric, ``"prediction"`` for the
    predictions' own drift); ``count`` how many values it is computed over.

    Example::

        MonitorResult("price-forecast", "energy-price-GB", "3", "champion", 24.0, end,
                      "drift", "psi", "load_forecast", 0.04, 480)
    """

    service: str
    model_name: str
    model_version: str
    role: str
    window_hours: float
    window_end: datetime
    kind: str
    name: str
    feature: str
    value: float | None
    count: int
    computed_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if self.kind not in MONITOR_KINDS:
            raise LedgerError(
                f"a monitor result's kind is one of {', '.join(MONITOR_KINDS)}, not {self.kind!r}",
                field="kind",
                rule="one of " + ", ".join(MONITOR_KINDS),
            )

    def _row(self) -> dict[str, Any]:
        value = self.value
        if value is not None and not math.isfinite(value):
            value = None
        return {
            "service": self.service[:128],
            "model_name": self.model_name[:256],
            "model_version": self.model_version[:32],
            "role": self.role[:16],
            "window_hours": float(self.window_hours),
            "window_end": as_utc(self.window_end),
            "kind": self.kind,
            "name": self.name[:64],
            "feature": self.feature[:256],
            "value": None if value is None else float(value),
            "count": int(self.count),
            "computed_at": as_utc(self.computed_at),
        }


def store_monitor_results(url: str, results: Iterable[MonitorResult]) -> int:
    """Upsert ``results`` (one row per key; a second run of a window replaces its figures)."""
    rows = [r._row() for r in results]
    if not rows:
        return 0
    with _ledger_engine(url, "store monitor results in") as engine:
        insert = postgresql_insert if engine.dialect.name == "postgresql" else sqlite_insert
        statement = insert(monitor_results_table)
        statement = statement.on_conflict_do_update(
            index_elements=list(_KEY),
            set_={name: statement.excluded[name] for name in ("value", "count", "computed_at")},
        )
        for start in range(0, len(rows), _CHUNK):
            with engine.begin() as con:
                con.execute(statement, rows[start : start + _CHUNK])
    return len(rows)


def read_monitor_results(
    url: str,
    *,
    latest: bool = True,
    window_hours: float | None = None,
    **filters: str | None,
) -> list[MonitorResult]:
    """Stored results, filtered by any of ``service``, ``model_name``, ``model_version``,
    ``role``, ``kind``, ``name``, ``feature`` and ``window_hours``. ``latest``: only each
    version and window's newest window end (what a dashboard shows); otherwise every stored
    window end, oldest first (a history)."""
    table = monitor_results_table
    query = sa.select(table)
    for name, value in filters.items():
        if name not in _FILTERS:
            raise LedgerError(
                f"monitor results have no filter {name!r}",
                field=name,
                rule="one of " + ", ".join(_FILTERS),
            )
        if value is not None:
            query = query.where(table.c[name] == value)
    if window_hours is not None:
        query = query.where(table.c.window_hours == float(window_hours))
    if latest:
        group = ("service", "model_name", "model_version", "role", "window_hours", "kind")
        newest = (
            sa.select(*(table.c[n] for n in group), sa.func.max(table.c.window_end).label("end"))
            .group_by(*(table.c[n] for n in group))
            .subquery()
        )
        query = query.join(
            newest,
            sa.and_(
                *(table.c[n] == newest.c[n] for n in group), table.c.window_end == newest.c.end
            ),
        )
    query = query.order_by(table.c.window_end, table.c.id)
    with _ledger_engine(url, "read monitor results from") as engine, engine.connect() as con:
        rows = con.execute(query).mappings().all()
    return [
        MonitorResult(
            **{name: row[name] for name in _KEY if name not in ("window_end",)},
            window_end=as_utc(row["window_end"]),
            value=row["value"],
            count=int(row["count"]),
            computed_at=as_utc(row["computed_at"]),
        )
        for row in rows
    ]
