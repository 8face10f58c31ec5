"""Jobs: named, idempotent units of recurring work, run by the scheduler or by hand.

Example::

    from heliograph.jobs import JOBS, run_job
    run_job(project, "ingest")

A job is declared with ``@job(name, description, schedule=..., catch_up=..., retries=...)`` on
its function (see ``_job``); ``heliograph.scheduler`` runs each scheduled interval once.
"""

from __future__ import annotations

from ._check import CheckOutcome, check
from ._check_events import record_checks
from ._ingest import IngestOutcome, ingest, ingest_file
from ._job import JOBS, CannotRun, Job, job, run_job
from ._materialize import materialize, materialize_published, online_views
from ._monitor import monitor
from ._pipeline import run_pipeline
from ._report import report
from ._schedule import CatchUp, Schedule, parse_catch_up
from ._snapshot import snapshot

__all__ = [
    "JOBS",
    "CannotRun",
    "CatchUp",
    "CheckOutcome",
    "IngestOutcome",
    "Job",
    "Schedule",
    "check",
    "ingest",
    "ingest_file",
    "job",
    "materialize",
    "materialize_published",
    "monitor",
    "online_views",
    "parse_catch_up",
    "record_checks",
    "report",
    "run_job",
    "run_pipeline",
    "snapshot",
]
