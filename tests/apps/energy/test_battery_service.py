"""The battery-schedule service, through the gateway: the trader's schedule for the configured
battery stays within its power, capacity and state of charge; its value is price times
dispatch; its P10-P90 spread brackets the expected value; a bad battery setting is refused
naming the key; the schedule is ledgered, and once prices are known its realised value is
the business metric the monitor reports.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from heliograph.apps.energy import (
    Battery,
    battery_settings,
    dispatch,
    realised_battery_value,
)
from heliograph.apps.energy._battery_service import BatterySchedule
from heliograph.core import ConfigError, FixedClock, Project
from heliograph.gateway import create_app
from heliograph.jobs import predict_services, record_realised
from heliograph.ledger import judged_predictions

pytestmark = pytest.mark.filterwarnings(
    "ignore::UserWarning:mlflow.*", "ignore:.*type hint:UserWarning"
)
PATH = "/v1/services/battery-schedule/predict"
NOW = datetime(2025, 3, 31, 12, tzinfo=UTC)
TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def root(served_gb: Path) -> Path:
    return served_gb


def project_at(root: Path, now: datetime, battery: dict[str, Any] | None = None) -> Project:
    project = Project.load(root).with_clock(FixedClock(now))
    if battery is not None:
        apps = {"energy": {"battery": battery}}
        project.settings = project.settings.model_copy(update={"apps": apps})
    return project


def schedule(root: Path, battery: dict[str, Any] | None = None, **body: Any) -> Any:
    project = project_at(root, NOW, battery)
    app = create_app(project, [BatterySchedule()], poll_interval=3600, shadow=False)
    with TestClient(app) as client:
        return client.post(PATH, json={"market": "GB", "as_of": "2025-03-31T10:00:00Z", **body})


def test_a_day_is_scheduled_whole_and_only_a_day_after_as_of(root: Path) -> None:
    body = schedule(root, day="2025-04-01").json()
    stamps = [p["timestamp"] for p in body["schedule"]]
    assert len(stamps) == 48 and stamps[0] == "2025-04-01T00:00:00Z", stamps[:2]
    assert stamps[-1] == "2025-04-01T23:30:00Z"
    refused = schedule(root, day="2025-03-31")
    assert refused.status_code == 422 and refused.json()["field"] == "day", refused.text


def test_the_schedule_stays_within_the_batterys_limits_and_is_worth_price_times_dispatch(
    root: Path,
) -> None:
    battery = {"capacity_mwh": 3.0, "power_mw": 1.5, "efficiency": 0.81, "initial_soc": 0.2}
    response = schedule(root, battery, horizon_hours=24)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["battery"] == battery and body["period_hours"] == 0.5
    points = pd.DataFrame(body["schedule"])
    assert len(points) == 48
    charge, discharge, soc = (
        points[c].to_numpy() for c in ("charge_mw", "discharge_mw", "soc_mwh")
    )
    assert (charge >= -TOLERANCE).all() and (charge <= 1.5 + TOLERANCE).all()
    assert (discharge >= -TOLERANCE).all() and (discharge <= 1.5 + TOLERANCE).all()
    assert (soc >= -TOLERANCE).all() and (soc <= 3.0 + TOLERANCE).all()
    # the store moves by what goes in, less what comes out over the round trip
    start = 0.2 * 3.0
    moved = np.cumsum(charge * 0.5 - discharge * 0.5 / 0.81)
    assert np.allclose(soc, start + moved, atol=1e-6)
    assert soc[-1] >= start - TOLERANCE  # it leaves the battery as full as it found it
    assert discharge.sum() > 0  # a day of prices has a spread worth trading
    assert np.allclose(points["net_mw"], discharge - charge)
    # its value at the forecast's median prices is price times dispatch
    at_median = float((points["p50"] * points["net_mw"]).sum() * 0.5)
    assert body["value_p10"] <= body["value_p50"] <= body["value_p90"]
    assert body["value_p10"] < body["expected_value"] < body["value_p90"]
    assert abs(body["value_p50"] - at_median) < 0.25 * abs(at_median) + 1.0
    # nothing the solver could not stand behind: no schedule beats it at those prices
    best = dispatch(points["p50"].to_numpy(), Battery(**battery), 0.5)
    assert at_median <= best.value + 1e-6


@pytest.mark.parametrize(
    ("battery", "field"),
    [
        ({"capacity_mwh": -1}, "apps.energy.battery.capacity_mwh"),
        ({"efficiency": 1.2}, "apps.energy.battery.efficiency"),
        ({"initial_soc": "half"}, "apps.energy.battery.initial_soc"),
        ({"power": 1}, "apps.energy.battery.power"),
    ],
)
def test_a_bad_battery_setting_is_refused_naming_the_key(
    root: Path, battery: dict[str, Any], field: str
) -> None:
    response = schedule(root, battery)
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["field"] == field and body["rule"], body
    assert "battery" in body["error"] and "Traceback" not in response.text
    with pytest.raises(ConfigError) as raised:
        battery_settings({"energy": {"battery": battery}})
    assert raised.value.field == field


def test_the_schedule_is_ledgered_and_its_realised_value_follows_the_actual_prices(
    root: Path,
) -> None:
    decided = datetime(2025, 3, 29, 10, tzinfo=UTC)  # the day-ahead decision for 30 March
    project = project_at(root, decided)
    assert predict_services(project, [BatterySchedule()]).predictions == 1
    assert predict_services(project_at(root, decided - timedelta(hours=1)), [BatterySchedule()])\
        .predictions == 0  # fmt: skip
    from heliograph.apps.energy import app

    later = project_at(root, NOW)
    assert record_realised(later, [app]).recorded >= 48
    judged = judged_predictions(
        later.ledger_url,
        "battery-schedule",
        since=datetime(2025, 3, 30, tzinfo=UTC),
        until=datetime(2025, 3, 31, tzinfo=UTC),
    )
    assert len(judged) == 48 and judged["actual"].notna().all()
    expected = float((judged["actual"] * judged["net_mw"]).sum() * 0.5)
    assert realised_battery_value(judged) == pytest.approx(expected)
    assert abs(expected) > 0
