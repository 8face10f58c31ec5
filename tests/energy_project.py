"""A small energy project with a served model, for tests that need one (docs examples, the
gateway's fuzzing): GB only from 2025-04-20, ingested on a replay clock that runs at real
speed from 2025-06-01, so its data stays fresh while the tests run; ``seasonal_naive`` trained
(seconds) and promoted to champion, and with ``challenger`` a second version as challenger.
"""

from __future__ import annotations

from pathlib import Path

from heliograph.apps.energy import train_market
from heliograph.core import Project, init_project, load_app
from heliograph.jobs import ingest, materialize, snapshot
from heliograph.registry import Registry

__all__ = ["MODEL", "small_energy_project"]

MODEL = "energy-price-GB"


def small_energy_project(folder: Path, *, challenger: bool = False) -> Project:
    """``folder`` made a project (``helio init --app energy``, shortened), ``up``, trained."""
    app = load_app("energy")
    config = app.config.replace('start = "2024-01-01"', 'start = "2025-04-20"').replace(
        'markets = ["GB", "DE", "FR"]', 'markets = ["GB"]'
    )
    assert 'start = "2025-04-20"' in config and 'markets = ["GB"]' in config
    project = init_project(folder, extra=config, clock={**app.clock, "speed": 1.0})
    ingest(project)  # `helio up` without its HTML reports (seconds, and not needed here)
    materialize(project)
    snapshot(project)
    train_market(project, "GB", models=["seasonal_naive"], backtest_days=7, reason="first")
    registry = Registry(project)
    assert registry.promote(MODEL, reason="first champion").accepted
    if challenger:
        train_market(project, "GB", models=["seasonal_naive"], backtest_days=7, reason="again")
    return project
