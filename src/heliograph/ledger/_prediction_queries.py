"""Reading the prediction ledger back: the newest records, and counts.

Example::

    count_predictions(url, service="price", role="challenger")
    # 1440
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from ._ledger import LedgerError
from ._predictions import _FILTERS, PredictionRecord, _ledger_engine, predictions_table

__all__ = ["count_predictions", "read_predictions"]


def _query(url: str, query: Any, filters: dict[str, str | None]) -> list[Any]:
    for name, value in filters.items():
        if name not in _FILTERS:
            raise LedgerError(f"predictions have no filter {name!r}", field=name)
        if value is not None:
            query = query.where(predictions_table.c[name] == value)
    with _ledger_engine(url, "read predictions from") as engine, engine.connect() as con:
        return list(con.execute(query).mappings())


def read_predictions(
    url: str,
    *,
    service: str | None = None,
    model_name: str | None = None,
    role: str | None = None,
    limit: int = 1000,
) -> list[PredictionRecord]:
    """The newest predictions first, optionally of one service, model or role.

    Example::

        [r.outputs for r in read_predictions(url, service="price", limit=2)]
        # [{'price': 61.2}, {'price': 59.8}]
    """
    table = predictions_table
    query = sa.select(table).order_by(table.c.at.desc(), table.c.id.desc()).limit(limit)
    records = []
    for row in _query(url, query, {"service": service, "model_name": model_name, "role": role}):
        data = {**row, "outputs": json.loads(row["outputs"])}
        data["inputs"] = None if row["inputs"] is None else json.loads(row["inputs"])
        records.append(PredictionRecord.from_row(data))
    return records


def count_predictions(url: str, **filters: str | None) -> int:
    """How many predictions the ledger holds, optionally of one service, model_name or role.

    Example::

        count_predictions(url, service="price", role="challenger")
        # 1440
    """
    query = sa.select(sa.func.count().label("n")).select_from(predictions_table)
    return int(_query(url, query, filters)[0]["n"])
