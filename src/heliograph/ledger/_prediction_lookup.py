"""Finding predictions for lineage: by record or request id, and counts per model version.

``find_predictions`` reads indexed columns (``record_id`` is unique, ``request_id`` is
indexed); ``predictions_per_version`` reads ``prediction_counts``, one row per version that
triggers on the predictions keep exact (``_schema``), never a count over the ledger.

Example::

    [r.model_version for r in find_predictions(url, "req-1")]
    # ['3']
    predictions_per_version(url, [("meter-load", "1")])
    # {('meter-load', '1'): 24}
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import sqlalchemy as sa

from ._prediction_queries import _query
from ._predictions import PredictionRecord, _ledger_engine, predictions_table
from ._schema import prediction_counts_table

__all__ = ["find_predictions", "predictions_per_version"]


def find_predictions(url: str, ident: str, *, limit: int = 50) -> list[PredictionRecord]:
    """The predictions whose ``record_id`` or ``request_id`` is ``ident``, newest first."""
    table = predictions_table
    query = (
        sa.select(table)
        .where(sa.or_(table.c.record_id == ident, table.c.request_id == ident))
        .order_by(table.c.at.desc(), table.c.id.desc())
        .limit(limit)
    )
    records = []
    for row in _query(url, query, {}):
        data = {**row, "outputs": json.loads(row["outputs"])}
        data["inputs"] = None if row["inputs"] is None else json.loads(row["inputs"])
        records.append(PredictionRecord.from_row(data))
    return records


def predictions_per_version(
    url: str, versions: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """How many predictions each ``(model_name, model_version)`` made (0 for none): exact,
    one primary-key row per version of ``prediction_counts``."""
    wanted = sorted(set(versions))
    counts = dict.fromkeys(wanted, 0)
    if not wanted:
        return counts
    table = prediction_counts_table
    query = sa.select(table.c.model_name, table.c.model_version, table.c.n).where(
        sa.tuple_(table.c.model_name, table.c.model_version).in_(wanted)
    )
    with _ledger_engine(url, "read prediction counts from") as engine, engine.connect() as con:
        for name, version, n in con.execute(query):
            counts[(name, version)] = int(n)
    return counts
