"""The ledger: every prediction, actual and event, in one database (SQLite or PostgreSQL).

Example::

    from heliograph.ledger import Ledger, PredictionWriter
    Ledger(project.ledger_url).record("snapshot_taken", "energy_prices@3f9c0a1b2d4e", "daily")
"""

from __future__ import annotations

from ._ledger import *  # noqa: F403
from ._ledger import __all__ as _ledger_all
from ._prediction_queries import *  # noqa: F403
from ._prediction_queries import __all__ as _prediction_queries_all
from ._prediction_writer import *  # noqa: F403
from ._prediction_writer import __all__ as _prediction_writer_all
from ._predictions import *  # noqa: F403
from ._predictions import __all__ as _predictions_all
from ._spool import *  # noqa: F403
from ._spool import __all__ as _spool_all

__all__ = sorted(
    [
        *_ledger_all,
        *_prediction_queries_all,
        *_prediction_writer_all,
        *_predictions_all,
        *_spool_all,
    ]
)
