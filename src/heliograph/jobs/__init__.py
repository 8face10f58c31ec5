"""Jobs: named, idempotent units of recurring work, run by the scheduler or by hand.

Example::

    from heliograph.jobs import JOBS, run_job
    run_job(project, "ingest")

A job is declared with ``@job(name, description, schedule=..., catch_up=..., retries=...)`` on
its function (see ``_job``); ``heliograph.scheduler`` runs each scheduled interval once. The
operating loop's jobs: ``actuals`` (realised values from the lake, as each app declares them:
``ActualsSource``), ``monitor``, ``retrain`` (through each app's training entry point) and
``promote`` (on live evidence).
"""

from __future__ import annotations

from ._actuals import ACTUALS_LOOKBACK, ActualsOutcome, ActualsSource, actuals, record_realised
from ._check import CheckOutcome, check
from ._check_events import record_checks
from ._ingest import IngestOutcome, ingest, ingest_file
from ._job import JOBS, CannotRun, Job, job, run_job
from ._materialize import materialize, materialize_published, online_views
from ._monitor import job_health, monitor
from ._pipeline import run_pipeline
from ._predict import PredictOutcome, predict, predict_services, scheduled_record_id
from ._promote import PromoteOutcome, promote, promote_on_evidence
from ._report import report
from ._retrain import (
    RETRAIN_EVERY,
    RETRAIN_TRIGGERS,
    RetrainOutcome,
    retrain,
    retrain_apps,
    triggers_retrain,
)
from ._schedule import CatchUp, Schedule, parse_catch_up
from ._snapshot import snapshot

__all__ = [
    "ACTUALS_LOOKBACK",
    "JOBS",
    "RETRAIN_EVERY",
    "RETRAIN_TRIGGERS",
    "ActualsOutcome",
    "ActualsSource",
    "CannotRun",
    "CatchUp",
    "CheckOutcome",
    "IngestOutcome",
    "Job",
    "PredictOutcome",
    "PromoteOutcome",
    "RetrainOutcome",
    "Schedule",
    "actuals",
    "check",
    "ingest",
    "ingest_file",
    "job",
    "job_health",
    "materialize",
    "materialize_published",
    "monitor",
    "online_views",
    "parse_catch_up",
    "predict",
    "predict_services",
    "promote",
    "promote_on_evidence",
    "record_checks",
    "record_realised",
    "report",
    "retrain",
    "retrain_apps",
    "run_job",
    "run_pipeline",
    "scheduled_record_id",
    "snapshot",
    "triggers_retrain",
]
