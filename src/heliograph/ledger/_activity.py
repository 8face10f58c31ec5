"""When each service last recorded a prediction: what tells a service that stopped answering.

One indexed query (``max(at)`` per service, on the (service, at) index).

Example::

    last_prediction_times(url)
    # {'price-forecast': datetime.datetime(2025, 6, 1, 11, 58, tzinfo=datetime.timezone.utc)}
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from heliograph.core import as_utc

from ._ledger import LedgerError, _metadata
from ._predictions import _engine, _first_line, predictions_table

__all__ = ["last_prediction_times"]


def last_prediction_times(url: str) -> dict[str, datetime]:
    """Each service's newest prediction time (UTC), by service name."""
    table = predictions_table
    query = sa.select(table.c.service, sa.func.max(table.c.at)).group_by(table.c.service)
    engine = _engine(url)
    try:
        _metadata.create_all(engine)
        with engine.connect() as con:
            rows = con.execute(query).all()
    except (SQLAlchemyError, OSError) as exc:
        where = engine.url.render_as_string(hide_password=True)
        message = f"cannot read the prediction ledger at {where}: {_first_line(exc)}"
        raise LedgerError(message, field="ledger.url", hint="is the database reachable?") from None
    finally:
        engine.dispose()
    return {service: as_utc(at) for service, at in rows if at is not None}
