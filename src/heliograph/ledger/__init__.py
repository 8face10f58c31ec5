"""The ledger: every prediction, actual, event and job run, in one database (SQLite or PostgreSQL).

Example::

    from heliograph.ledger import Ledger, PredictionWriter
    Ledger(project.ledger_url).record("snapshot_taken", "energy_prices@3f9c0a1b2d4e", "daily")
"""

from __future__ import annotations

from ._activity import last_prediction_times
from ._actuals import Actual, read_actuals, record_actuals
from ._counts import ledger_counts
from ._job_runs import RUN_STATUSES, JobRun, JobRuns
from ._judged import ROW_KEY, judged_predictions, prediction_inputs
from ._latencies import prediction_latencies
from ._ledger import Event, Ledger, LedgerError
from ._monitor_results import (
    MONITOR_KINDS,
    MonitorResult,
    read_monitor_results,
    store_monitor_results,
)
from ._prediction_lookup import find_predictions, predictions_per_version
from ._prediction_queries import count_predictions, read_predictions
from ._prediction_writer import PredictionWriter
from ._predictions import JsonText, PredictionRecord
from ._samples import monitor_history, newest_window_ends, sampled_predictions
from ._spool import SpoolClaim, claim_spool

__all__ = [
    "MONITOR_KINDS",
    "ROW_KEY",
    "RUN_STATUSES",
    "Actual",
    "Event",
    "JobRun",
    "JobRuns",
    "JsonText",
    "Ledger",
    "LedgerError",
    "MonitorResult",
    "PredictionRecord",
    "PredictionWriter",
    "SpoolClaim",
    "claim_spool",
    "count_predictions",
    "find_predictions",
    "judged_predictions",
    "last_prediction_times",
    "ledger_counts",
    "monitor_history",
    "newest_window_ends",
    "prediction_inputs",
    "prediction_latencies",
    "predictions_per_version",
    "read_actuals",
    "read_monitor_results",
    "read_predictions",
    "record_actuals",
    "sampled_predictions",
    "store_monitor_results",
]
