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
_GROUP = ("service", "model_name", "model_version", "role", "window_hours", "kind")
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
    # the newest window end of each (version, window, kind): read_monitor_results(latest=True)
    sa.Index("ix_monitor_results_group_end", *_GROUP, "window_end"),
    # one statistic's history: monitor_history(kind=, name=, features=) over a time range
    sa.Index("ix_monitor_results_history", "service", "kind", "name", "feature", "window_end"),
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


def _groups(con: sa.Connection, fixed: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The distinct (service, model, version, role, window, kind) groups, each with its
    newest window end: a skip along ``ix_monitor_results_group_end``, two index probes per
    group, however many passes the table holds (a GROUP BY would read every row)."""
    table = monitor_results_table
    columns = [table.c[n] for n in _GROUP]
    conditions = [table.c[n] == v for n, v in fixed.items()]
    found: list[tuple[Any, ...]] = []
    after: tuple[Any, ...] | None = None
    while True:
        query = sa.select(*columns).where(*conditions).order_by(*columns).limit(1)
        if after is not None:
            query = query.where(sa.tuple_(*columns) > sa.tuple_(*after))
        group = con.execute(query).first()
        if group is None:
            return found
        key = tuple(group)
        newest = con.execute(
            sa.select(sa.func.max(table.c.window_end)).where(
                *(c == v for c, v in zip(columns, key, strict=True))
            )
        ).scalar_one()
        found.append((*key, newest))
        after = key


def _result(row: Any) -> MonitorResult:
    return MonitorResult(
        **{name: row[name] for name in _KEY if name not in ("window_end",)},
        window_end=as_utc(row["window_end"]),
        value=row["value"],
        count=int(row["count"]),
        computed_at=as_utc(row["computed_at"]),
    )


def read_monitor_results(
    url: str,
    *,
    latest: bool = True,
    window_hours: float | None = None,
    **filters: str | None,
) -> list[MonitorResult]:
    """Stored results, filtered by any of ``service``, ``model_name``, ``model_version``,
    ``role``, ``kind``, ``name``, ``feature`` and ``window_hours``. ``latest``: only each
    version and window's newest window end (what a dashboard shows; the newest of the group,
    whatever ``name`` and ``feature`` ask for); otherwise every stored window end, oldest
    first (a history)."""
    table = monitor_results_table
    for name in filters:
        if name not in _FILTERS:
            raise LedgerError(
                f"monitor results have no filter {name!r}",
                field=name,
                rule="one of " + ", ".join(_FILTERS),
            )
    given: dict[str, Any] = {name: value for name, value in filters.items() if value is not None}
    if window_hours is not None:
        given["window_hours"] = float(window_hours)
    conditions = [table.c[name] == value for name, value in given.items()]
    with _ledger_engine(url, "read monitor results from") as engine, engine.connect() as con:
        if not latest:
            query = sa.select(table).where(*conditions).order_by(table.c.window_end, table.c.id)
            return [_result(row) for row in con.execute(query).mappings()]
        rows: list[Any] = []
        for *key, end in _groups(con, {n: v for n, v in given.items() if n in _GROUP}):
            at_end = [table.c[n] == v for n, v in zip(_GROUP, key, strict=True)]
            query = sa.select(table).where(*at_end, table.c.window_end == end, *conditions)
            rows += con.execute(query).mappings().all()
    rows.sort(key=lambda row: (row["window_end"], row["id"]))
    return [_result(row) for row in rows]
