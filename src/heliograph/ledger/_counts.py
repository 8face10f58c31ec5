"""What the ledger holds, counted: predictions by role, actuals, events by kind, job runs.

One grouped ``count(*)`` per table (``helio status``), never a scan into Python.

Example::

    ledger_counts(Ledger(url))
    # {'predictions': {'champion': 96, 'challenger': 96}, 'actuals': 90,
    #  'events': {'snapshot_taken': 3}, 'job_runs': {'succeeded': 12}}
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from ._actuals import actuals_table
from ._job_runs import job_runs_table
from ._ledger import Ledger, LedgerError, events_table
from ._predictions import predictions_table

__all__ = ["ledger_counts"]


def _grouped(con: sa.Connection, column: Any) -> dict[str, int]:
    query = sa.select(column, sa.func.count()).group_by(column).order_by(column)
    return {str(key): int(n) for key, n in con.execute(query)}


def ledger_counts(ledger: Ledger) -> dict[str, Any]:
    """Counts of every ledger table."""
    ledger._ensure()
    try:
        with ledger.engine.connect() as con:
            actuals = con.execute(sa.select(sa.func.count()).select_from(actuals_table))
            return {
                "predictions": _grouped(con, predictions_table.c.role),
                "actuals": int(actuals.scalar_one()),
                "events": _grouped(con, events_table.c.kind),
                "job_runs": _grouped(con, job_runs_table.c.status),
            }
    except SQLAlchemyError as exc:
        raise LedgerError(
            f"cannot count the ledger at {ledger.safe_url()}: {str(exc).splitlines()[0]}",
            field="ledger.url",
        ) from None
