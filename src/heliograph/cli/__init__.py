"""The ``helio`` command line.

Example::

    from heliograph.cli import main
    main(["lake", "ls"])
"""

from __future__ import annotations

from ._main import app, main
from ._training import (
    AllowFailedChecks,
    Reason,
    Register,
    candidate_names,
    lineage_line,
    progress_lines,
    train_consoles,
)

__all__ = [
    "AllowFailedChecks",
    "Reason",
    "Register",
    "app",
    "candidate_names",
    "lineage_line",
    "main",
    "progress_lines",
    "train_consoles",
]
