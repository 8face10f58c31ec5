"""The answer latencies of one model version in a role, as the ledger recorded them.

Only the ``latency_ms`` column is read (never the inputs or outputs), so a promotion gate on a
challenger's p99 costs one indexed range read.

Example::

    prediction_latencies(url, "energy-price-GB", "4", "challenger", since=t0, until=t1)
    # array([3.1, 2.9, ...])
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import sqlalchemy as sa

from heliograph.core import as_utc

from ._prediction_queries import _query
from ._predictions import predictions_table

__all__ = ["prediction_latencies"]


def prediction_latencies(
    url: str, model_name: str, version: str, role: str, *, since: datetime, until: datetime
) -> np.ndarray:
    """Milliseconds each answer of ``model_name`` v``version`` as ``role`` took, recorded in
    ``[since, until)``."""
    table = predictions_table
    query = sa.select(table.c.latency_ms).where(
        table.c.model_version == str(version),
        table.c.at >= as_utc(since),
        table.c.at < as_utc(until),
    )
    rows = _query(url, query, {"model_name": model_name, "role": role})
    return np.array([r["latency_ms"] for r in rows], dtype="float64")
