"""The tiny app trains, registers, is promoted and serves through the public API alone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from heliograph.core import FixedClock, init_project
from heliograph.gateway import create_app
from heliograph.lake import open_lake
from heliograph.registry import Registry
from heliograph.training import TrainingProgress, train

from .app import CONFIG, PIPELINE, LoadForecast, readings

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:mlflow.*")


def test_the_tiny_app_trains_registers_and_serves(tmp_path: Path) -> None:
    project = init_project(tmp_path / "tiny", extra=CONFIG).with_clock(
        FixedClock(datetime(2025, 3, 1, tzinfo=UTC))
    )
    lake = open_lake(project)
    data = readings(days=40)
    broken = data.iloc[-24:].assign(
        load=-1.0, timestamp=data["timestamp"].iloc[-24:] + pd.Timedelta(days=1)
    )
    lake.ingest("meter_readings", data, origin="generated")
    result = lake.ingest(
        "meter_readings", broken.assign(available_at=broken["timestamp"]), origin="bad"
    )
    assert result.rows_quarantined == 24  # the check keeps the impossible day out

    steps: list[TrainingProgress] = []
    outcome = train(project, PIPELINE, backtest_days=7, train_days=28, progress=steps.append)

    assert outcome.model == "meter-load" and outcome.version == "1"
    assert outcome.window == "2025-02-03..2025-02-09"
    assert set(outcome.metrics) == {"yesterday", "least_squares"}
    assert outcome.best == "least_squares"  # two lags and the hour beat yesterday's value
    assert outcome.metrics["least_squares"]["mae"] < outcome.metrics["yesterday"]["mae"]
    assert [(s.stage, s.candidate) for s in steps] == [
        ("started", "yesterday"),
        ("finished", "yesterday"),
        ("started", "least_squares"),
        ("finished", "least_squares"),
        ("registered", "least_squares"),
    ]
    registry = Registry(project)
    assert registry.promote("meter-load", reason="first champion").accepted

    when = data["timestamp"].iloc[-5]
    with TestClient(create_app(project, [LoadForecast()], poll_interval=3600)) as client:
        answer = client.post(
            "/v1/services/meter-load/predict", json={"timestamp": when.isoformat()}
        )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["version"] == "1"
    actual = float(data["load"].iloc[-5])
    assert abs(body["load"] - actual) < 3 * outcome.metrics["least_squares"]["mae"] + 1
