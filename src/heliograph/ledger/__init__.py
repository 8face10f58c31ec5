"""The ledger: every prediction, actual and event, in one database (SQLite or PostgreSQL).

Example::

    from heliograph.ledger import Ledger, PredictionWriter
    Ledger(project.ledger_url).record("snapshot_taken", "energy_prices@3f9c0a1b2d4e", "daily")
"""

from __future__ import annotations

from ._ledger import Event, Ledger, LedgerError
from ._prediction_queries import count_predictions, read_predictions
from ._prediction_writer import PredictionWriter
from ._predictions import JsonText, PredictionRecord
from ._spool import SpoolClaim, claim_spool

__all__ = [
    "Event",
    "JsonText",
    "Ledger",
    "LedgerError",
    "PredictionRecord",
    "PredictionWriter",
    "SpoolClaim",
    "claim_spool",
    "count_predictions",
    "read_predictions",
]
