"""Bounded reads for people looking at the ledger: forecasts sampled per time bin, and the
history of monitor results over a time range. Each is a handful of indexed range queries,
whatever the size of the ledger, so a page that shows them stays fast at ten million rows.

Example::

    records = sampled_predictions(url, "price-forecast", model_name="energy-price-GB",
                                  since=now - timedelta(hours=48), until=now)
    [(r.role, r.at) for r in records][:2]
    # [('champion', datetime(2025, 6, 1, 0, 0, 12, tzinfo=UTC)), ('challenger', ...)]
    history = monitor_history(url, "price-forecast", kind="metric", since=now - timedelta(days=7))
    newest_window_ends(url, prefixes=("service:", "job:"))  # health subjects, newest pass
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa

from heliograph.core import as_utc

from ._ledger import LedgerError
from ._monitor_results import MonitorResult, monitor_results_table
from ._predictions import PredictionRecord, _ledger_engine, predictions_table

__all__ = ["monitor_history", "newest_window_ends", "sampled_predictions"]

_MAX_BINS = 2_000


def sampled_predictions(
    url: str,
    service: str,
    *,
    model_name: str,
    since: datetime,
    until: datetime,
    every: timedelta = timedelta(hours=1),
    roles: Sequence[str] = ("champion", "challenger"),
) -> list[PredictionRecord]:
    """The first prediction of ``model_name`` by each role in each ``every`` bin of
    ``[since, until)``, oldest first: one indexed query on (service, at) per bin and role,
    each reading only the start of its bin."""
    start, end = as_utc(since), as_utc(until)
    if every <= timedelta(0) or (end - start) / every > _MAX_BINS:
        raise LedgerError(
            f"sampling {end - start} every {every} is more than {_MAX_BINS} bins",
            field="every",
            rule=f"a positive step, at most {_MAX_BINS} bins in the range",
        )
    table = predictions_table
    found: list[PredictionRecord] = []
    with _ledger_engine(url, "read predictions from") as engine, engine.connect() as con:
        left = start
        while left < end:
            right = min(left + every, end)
            for role in roles:
                query = (
                    sa.select(table)
                    .where(table.c.service == service, table.c.at >= left, table.c.at < right)
                    .where(table.c.model_name == model_name, table.c.role == role)
                    .order_by(table.c.at)
                    .limit(1)
                )
                row = con.execute(query).mappings().first()
                if row is not None:
                    data = {**row, "outputs": json.loads(row["outputs"])}
                    data["inputs"] = None  # not needed to draw a forecast
                    found.append(PredictionRecord.from_row(data))
            left = right
    return found


def newest_window_ends(url: str, *, prefixes: Sequence[str] = ("",)) -> dict[str, datetime]:
    """The newest window end of each monitor-results service (health rows: each subject,
    ``service:NAME``, ``job:NAME``, ``spool``) starting with one of ``prefixes``: a scan of
    the (service, window_end) index over those names only."""
    table = monitor_results_table
    found: dict[str, datetime] = {}
    with _ledger_engine(url, "read monitor results from") as engine, engine.connect() as con:
        for prefix in prefixes:
            query = sa.select(table.c.service, sa.func.max(table.c.window_end))
            if prefix:  # a range, not LIKE: SQLite's LIKE is case-blind and skips the index
                after = prefix[:-1] + chr(ord(prefix[-1]) + 1)
                query = query.where(table.c.service >= prefix, table.c.service < after)
            for service, end in con.execute(query.group_by(table.c.service)):
                found[service] = as_utc(end)
    return found


def monitor_history(
    url: str,
    service: str,
    *,
    since: datetime,
    until: datetime | None = None,
    kind: str | None = None,
    name: str | None = None,
    window_hours: float | None = None,
    features: Sequence[str] | None = None,
    **version: str,
) -> list[MonitorResult]:
    """Every stored monitor result of ``service`` with ``since <= window_end < until``
    (optionally of one ``kind``, statistic ``name``, window, ``features`` and
    ``model_name`` / ``model_version`` / ``role``), oldest first: a range on the (service,
    kind, name, feature, window_end) index when a statistic is named (pass ``features=[""]``
    for metrics: a metric's feature is ``""``), else on the (service, window_end) index.
    Sorted here, not by the database: an ORDER BY window_end made SQLite prefer the
    (service, window_end) index and read every statistic of the range."""
    table = monitor_results_table
    query = sa.select(table).where(table.c.service == service, table.c.window_end >= as_utc(since))
    if until is not None:
        query = query.where(table.c.window_end < as_utc(until))
    if kind is not None:
        query = query.where(table.c.kind == kind)
    if name is not None:
        query = query.where(table.c.name == name)
    if window_hours is not None:
        query = query.where(table.c.window_hours == float(window_hours))
    if features is not None:
        query = query.where(table.c.feature.in_(list(features)))
    for column, value in version.items():
        if column not in ("model_name", "model_version", "role"):
            raise LedgerError(
                f"monitor history has no filter {column!r}",
                field=column,
                rule="model_name, model_version or role",
            )
        query = query.where(table.c[column] == value)
    with _ledger_engine(url, "read monitor results from") as engine, engine.connect() as con:
        rows = con.execute(query).mappings().all()
    rows = sorted(rows, key=lambda row: (row["window_end"], row["id"]))
    return [
        MonitorResult(
            service=row["service"],
            model_name=row["model_name"],
            model_version=row["model_version"],
            role=row["role"],
            window_hours=row["window_hours"],
            window_end=as_utc(row["window_end"]),
            kind=row["kind"],
            name=row["name"],
            feature=row["feature"],
            value=row["value"],
            count=int(row["count"]),
            computed_at=as_utc(row["computed_at"]),
        )
        for row in rows
    ]
