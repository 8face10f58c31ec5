"""When each service last recorded a prediction: what tells a service that stopped answering.

One indexed query (``max(at)`` per service, on the (service, at) index).

Example::

    last_prediction_times(url)
    # {'price-forecast': datetime.datetime(2025, 6, 1, 11, 58, tzinfo=datetime.timezone.utc)}
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from heliograph.core import as_utc

from ._predictions import _ledger_engine, predictions_table

__all__ = ["last_prediction_times"]


def last_prediction_times(url: str) -> dict[str, datetime]:
    """Each service's newest prediction time (UTC), by service name."""
    table = predictions_table
    query = sa.select(table.c.service, sa.func.max(table.c.at)).group_by(table.c.service)
    with _ledger_engine(url, "read predictions from") as engine, engine.connect() as con:
        rows = con.execute(query).all()
    return {service: as_utc(at) for service, at in rows if at is not None}
