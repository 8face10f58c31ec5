"""The price-forecast service answers only what it can stand behind.

An ``as_of`` after the clock's now or before any input is a 422 naming ``as_of``; inputs older
than ``[gateway] max_input_age_hours`` are refused (503, saying what to run); every answer says
how old its newest inputs were and which features had no value. The same request gets the same
answer whatever was asked before it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from heliograph.apps.energy import model_name, train_market
from heliograph.apps.energy._service import PriceForecast
from heliograph.core import FixedClock, Project
from heliograph.gateway import create_app
from heliograph.registry import Registry
from tests.conftest import energy_project

pytestmark = pytest.mark.filterwarnings(
    "ignore::UserWarning:mlflow.*", "ignore:.*type hint:UserWarning"
)
PATH = "/v1/services/price-forecast/predict"
NOW = datetime(2025, 3, 31, 12, tzinfo=UTC)  # the lake was last fed at this moment


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = energy_project(tmp_path_factory.mktemp("service"), now=NOW)
    train_market(project, "GB", models=["seasonal_naive"], backtest_days=7)
    Registry(project).promote(model_name("GB"), reason="first")
    return project.root


def gateway_at(root: Path, now: datetime, **settings: Any) -> TestClient:
    """A fresh gateway on the project whose clock says ``now``."""
    project = Project.load(root).with_clock(FixedClock(now))
    if settings:
        project.settings = project.settings.model_copy(
            update={"gateway": project.settings.gateway.model_copy(update=settings)}
        )
    return TestClient(create_app(project, [PriceForecast()], poll_interval=3600, shadow=False))


@pytest.fixture
def client(root: Path) -> Iterator[TestClient]:
    with gateway_at(root, NOW) as client:
        yield client


def ask(client: TestClient, as_of: str | None = None, horizon: int = 24) -> Any:
    body: dict[str, Any] = {"market": "GB", "horizon_hours": horizon}
    if as_of is not None:
        body["as_of"] = as_of
    return client.post(PATH, json=body)


def refused_as_of(response: Any, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["field"] == "as_of" and body["rule"], body
    return body


def test_an_as_of_after_the_clocks_now_is_refused(client: TestClient) -> None:
    body = refused_as_of(ask(client, "2030-01-01T00:00:00Z"))
    assert "after now" in body["error"] and "2025-03-31T12:00:00" in body["rule"]
    refused_as_of(ask(client, (NOW + timedelta(seconds=1)).isoformat()))
    ask(client)  # a remembered answer is no way round it
    refused_as_of(ask(client, (NOW + timedelta(minutes=5)).isoformat()))
    assert ask(client, NOW.isoformat()).status_code == 200


@pytest.mark.parametrize("as_of", ["2024-12-31T10:00:00Z", "2019-01-01T00:00:00Z"])
def test_an_as_of_before_any_input_is_refused(client: TestClient, as_of: str) -> None:
    """The lake starts with 1 January 2025: its prices are auctioned on 31 December at 11:00."""
    body = refused_as_of(ask(client, as_of))
    assert "before" in body["error"] and "energy_prices" in body["error"]
    assert "2024-12-31T11:00:00" in body["rule"]


def test_every_answer_says_how_old_its_inputs_are_and_what_was_missing(
    client: TestClient,
) -> None:
    body = ask(client, "2025-03-31T10:00:00Z", horizon=48).json()
    freshness = body["freshness"]
    ages = {i["dataset"]: i for i in freshness["inputs"]}
    # prices are published at 11:00 for the next day, driver forecasts at 09:00
    assert ages["energy_prices"]["newest_available_at"] == "2025-03-30T11:00:00Z"
    assert ages["energy_prices"]["age_hours"] == 23.0
    assert ages["energy_forecasts"]["age_hours"] == 1.0
    assert freshness["max_age_hours"] == 36.0
    # 48 h ahead reaches 1 April, whose day-ahead inputs are not out yet at 10:00 on 30 March
    assert "price_lag_1d" in freshness["missing_features"]
    short = ask(client, "2025-03-31T10:00:00Z", horizon=1).json()["freshness"]
    assert short["missing_features"] == []


def test_a_remembered_answer_has_its_own_input_ages(client: TestClient, root: Path) -> None:
    ask(client, "2025-03-31T11:00:00Z")  # reads the lake
    first = ask(client, "2025-03-31T11:01:00Z")
    later = ask(client, "2025-03-31T11:17:30Z")  # the same answer, from memory
    ages = {i["dataset"]: i["age_hours"] for i in later.json()["freshness"]["inputs"]}
    assert ages == {"energy_forecasts": 2.2917, "energy_prices": 0.2917}
    assert first.json()["forecasts"] == later.json()["forecasts"]
    with gateway_at(root, NOW) as fresh:  # no memory: the same bytes
        assert ask(fresh, "2025-03-31T11:17:30Z").content == later.content


def test_a_stale_lake_is_refused_the_same_way_whatever_was_asked_before(root: Path) -> None:
    """Ten days after the last ingest, 'as of now' is refused, saying what to run, on a fresh
    gateway and after a question about the past alike."""
    later = NOW + timedelta(days=10)
    with gateway_at(root, later) as client:
        first = ask(client)
        body = refused_as_of(first, 503)
        assert "helio job run ingest" in body["error"] and "energy_prices" in body["error"]
        assert "max_input_age_hours" in body["rule"]
        assert ask(client, "2025-03-31T10:00:00Z").status_code == 200
        again = ask(client)
        assert again.status_code == first.status_code and again.json()["error"] == body["error"]
    with gateway_at(root, NOW + timedelta(hours=20)) as client:
        assert ask(client).status_code == 200
    with gateway_at(root, NOW) as client:
        ask(client, "2025-04-01T10:00:00Z")  # future for this clock
        assert ask(client).status_code == 200


def test_the_tolerance_is_configured_and_zero_only_flags(root: Path) -> None:
    later = NOW + timedelta(days=10)
    with gateway_at(root, later, max_input_age_hours=0) as client:
        response = ask(client)
        assert response.status_code == 200, response.text
        freshness = response.json()["freshness"]
        assert freshness["max_age_hours"] is None
        assert {i["dataset"]: i["age_hours"] for i in freshness["inputs"]} == {
            "energy_forecasts": 243.0,
            "energy_prices": 241.0,
        }
    with gateway_at(root, NOW + timedelta(hours=20), max_input_age_hours=12) as client:
        assert refused_as_of(ask(client), 503)


def test_a_remembered_answer_whose_inputs_grew_too_old_is_refused(root: Path) -> None:
    """The driver forecasts were last published at 09:00 on 31 March: with 23.75 h of
    tolerance, 'as of now' is answered at 08:35 on 1 April and refused at 08:50, although
    both moments share one remembered answer (the same targets, nothing new known)."""
    start = datetime(2025, 4, 1, 8, 35, tzinfo=UTC)
    with gateway_at(root, start, max_input_age_hours=23.75) as client:
        ask(client)  # reads the lake
        assert ask(client).status_code == 200
        gateway = client.app.state.gateway  # type: ignore[attr-defined]
        assert len(gateway.store.cached(model_name("GB"), "1")._answers) == 1
        gateway.context.clock.advance(timedelta(minutes=15))
        late = refused_as_of(ask(client), 503)
        assert "energy_forecasts" in late["error"] and "energy_prices" not in late["error"]
    with gateway_at(root, start + timedelta(minutes=15), max_input_age_hours=23.75) as fresh:
        assert ask(fresh).json() | {"request_id": ""} == late | {"request_id": ""}
