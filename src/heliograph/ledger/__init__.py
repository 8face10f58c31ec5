"""The ledger: every prediction, actual, event and job run, in one database (SQLite or PostgreSQL).

Example::

    from heliograph.ledger import Ledger, PredictionWriter
    Ledger(project.ledger_url).record("snapshot_taken", "energy_prices@3f9c0a1b2d4e", "daily")
"""

from __future__ import annotations

from ._counts import ledger_counts
from ._job_runs import RUN_STATUSES, JobRun, JobRuns
from ._ledger import Event, Ledger, LedgerError
from ._prediction_queries import count_predictions, read_predictions
from ._prediction_writer import PredictionWriter
from ._predictions import JsonText, PredictionRecord
from ._spool import SpoolClaim, claim_spool

__all__ = [
    "RUN_STATUSES",
    "Event",
    "JobRun",
    "JobRuns",
    "JsonText",
    "Ledger",
    "LedgerError",
    "PredictionRecord",
    "PredictionWriter",
    "SpoolClaim",
    "claim_spool",
    "count_predictions",
    "ledger_counts",
    "read_predictions",
]
