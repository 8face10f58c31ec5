"""The data jobs in one call (what ``helio up`` ran before the scheduler): ingest every source,
materialise the online store, snapshot, write data reports.

Example::

    done = run_pipeline(project)
    print(done["ingest"].summary())
"""

from __future__ import annotations

from typing import Any

from heliograph.core import Project
from heliograph.ledger import Ledger

from ._ingest import ingest
from ._materialize import materialize
from ._report import report
from ._snapshot import snapshot

__all__ = ["run_pipeline"]


def run_pipeline(project: Project) -> dict[str, Any]:
    """The main data job: ingest every source, materialise the online store (so serving reads
    the new partitions' features), snapshot every dataset, write data reports."""
    ledger = Ledger(project.ledger_url)
    outcome = ingest(project, ledger=ledger)
    materialized = materialize(project)
    snaps = snapshot(project, ledger=ledger)
    reports = report(project)
    return {
        "ingest": outcome,
        "materialized": materialized,
        "snapshots": snaps,
        "reports": reports,
    }
