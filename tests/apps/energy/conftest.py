"""Shared pieces for the energy app's tests: one trained GB project for the services."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from heliograph.apps.energy import model_name, train_market
from heliograph.registry import Registry
from tests.conftest import energy_project

SERVICE_NOW = datetime(2025, 3, 31, 12, tzinfo=UTC)  # the lake was last fed at this moment


@pytest.fixture(scope="session")
def served_gb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GB project simulated from 1 January 2025, ingested and snapshotted at
    ``SERVICE_NOW``, the seasonal naive trained on a 7-day backtest and promoted: the price
    and battery services' tests answer from it (a test that feeds its lake works on a copy)."""
    project = energy_project(tmp_path_factory.mktemp("served-gb"), now=SERVICE_NOW)
    train_market(project, "GB", models=["seasonal_naive"], backtest_days=7)
    Registry(project).promote(model_name("GB"), reason="first")
    return project.root
