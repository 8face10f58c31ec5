"""The ``monitor`` job: live metrics, drift and alerts of every service (``monitoring``).

Example::

    run_job(project, "monitor")
"""

from __future__ import annotations

from functools import cache

import pandas as pd

from heliograph.core import Project, load_apps
from heliograph.monitoring import MonitorOutcome, app_business_metrics, run_monitor
from heliograph.monitoring import training_reference as reference_of
from heliograph.registry import Registry

from ._job import job

__all__ = ["monitor"]


@job(
    "monitor",
    "live metrics per model version and window, drift against training, alerts",
    schedule="0 * * * *",
    catch_up="latest",  # a pass judges the windows ending now: older passes add nothing
    retries=2,
    after=("ingest",),
)
def monitor(project: Project) -> MonitorOutcome:
    """One monitoring pass at the clock's now, with the apps' business metrics and each
    version's training reference from the registry."""
    registries: list[Registry] = []  # opened only when a version is looked up

    @cache
    def references(name: str, version: str) -> pd.DataFrame | None:
        if not registries:
            registries.append(Registry(project))
        return reference_of(registries[0], name, version)

    return run_monitor(
        project.ledger_url,
        now=project.clock().now(),
        settings=project.settings.monitoring,
        references=references,
        business=app_business_metrics(load_apps()),
        spool=project.state_dir / "spool",
    )
