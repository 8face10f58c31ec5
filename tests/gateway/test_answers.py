"""Remembered domain answers: a repeat is answered from memory, and never a stale one.

The gateway remembers a model version's whole answer per service answer key; these tests
check that the memory follows the champion and the data, and that every answer, remembered or
not, is a ledger record of its own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from heliograph.apps.energy import _service as energy_service
from heliograph.apps.energy import app as energy_app
from heliograph.apps.energy import model_name, train_market
from heliograph.core import FixedClock, Project
from heliograph.gateway import create_app
from heliograph.jobs import ingest
from heliograph.ledger import read_predictions
from heliograph.registry import Registry
from heliograph.tracking import mlflow_client
from tests.conftest import energy_project

pytestmark = pytest.mark.filterwarnings(
    "ignore::UserWarning:mlflow.*", "ignore:.*type hint:UserWarning"
)
GB = model_name("GB")
PATH = "/v1/services/price-forecast/predict"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    project = energy_project(tmp_path_factory.mktemp("answers"))
    train_market(project, "GB", models=["lear"], backtest_days=7)
    Registry(project).promote(GB, reason="first")
    train_market(project, "GB", models=["seasonal_naive"], backtest_days=7)
    return project


class Ticks:
    """A stand-in for the energy service's ``time`` module: monotonic time moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def frozen_lake_look(monkeypatch: pytest.MonkeyPatch) -> Ticks:
    """The service looks at the lake again after 5 s of monotonic time, and a remembered answer
    is keyed by what it saw: on a loaded machine 5 s can pass between two requests of one test,
    so time stands still here unless a test moves it."""
    ticks = Ticks()
    monkeypatch.setattr(energy_service, "time", ticks)
    return ticks


def ask(client: TestClient, as_of: str) -> Any:
    response = client.post(PATH, json={"market": "GB", "as_of": as_of, "horizon_hours": 24})
    assert response.status_code == 200, response.text
    return response


def remembered(client: TestClient, version: str) -> int:
    gateway = client.app.state.gateway  # type: ignore[attr-defined]
    return len(gateway.store.cached(GB, version)._answers)


def test_a_remembered_answer_follows_the_champion(project: Project) -> None:
    as_of = "2025-03-31T11:00:00Z"
    app = create_app(project, energy_app.services(), poll_interval=3600, shadow=False)
    with TestClient(app) as client:
        ask(client, as_of)  # the lake is read: from now on the service gives a key
        first, again = ask(client, as_of), ask(client, as_of)
        assert remembered(client, "1") == 1  # the repeat came from memory
        assert again.content == first.content and again.headers["X-Model-Version"] == "1"

        mlflow_client(project).set_registered_model_alias(GB, "champion", "2")
        client.app.state.gateway.follower.sync()  # type: ignore[attr-defined]
        moved = ask(client, as_of)
        assert moved.headers["X-Model-Version"] == "2" and moved.json()["version"] == "2"
        assert moved.json()["forecasts"] != first.json()["forecasts"]
        assert remembered(client, "2") == 1

        mlflow_client(project).set_registered_model_alias(GB, "champion", "1")
        client.app.state.gateway.follower.sync()  # type: ignore[attr-defined]
        back = ask(client, as_of)
        assert back.headers["X-Model-Version"] == "1" and back.content == first.content
        responses = [first, again, moved, back]
    ids = {r.headers["X-Request-ID"]: r.headers["X-Model-Version"] for r in responses}
    records = read_predictions(project.ledger_url, service="price-forecast", limit=10_000)
    logged = {r.request_id: r for r in records if r.request_id in ids}
    assert {i: r.model_version for i, r in logged.items()} == ids  # one record per answer
    assert all(r.role == "champion" and r.inputs_hash for r in logged.values())
    computed, repeat = (logged[r.headers["X-Request-ID"]] for r in (first, again))
    assert computed.inputs is not None and computed.as_of == repeat.as_of
    assert repeat.inputs is None and repeat.inputs_hash == computed.inputs_hash  # stored once
    outputs = logged[first.headers["X-Request-ID"]].outputs
    assert [round(p, 9) for p in outputs["p50"]] == [
        round(p["p50"], 9) for p in first.json()["forecasts"]
    ]


def test_a_remembered_answer_is_recomputed_when_new_data_lands(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticks = Ticks()
    monkeypatch.setattr(energy_service, "time", ticks)
    # the next day's forecasts are published at 09:00: as of 12:00 on 1 April the features
    # see them, once they are in the lake (it was last fed at 12:00 on 31 March)
    as_of = "2025-04-01T12:00:00Z"
    # the gateway's clock says as_of is now (a later as_of is refused)
    monkeypatch.setattr(project, "_clock", FixedClock(datetime(2025, 4, 1, 12, tzinfo=UTC)))
    app = create_app(project, energy_app.services(), poll_interval=3600, shadow=False)
    with TestClient(app) as client:
        before = ask(client, as_of)
        assert ask(client, as_of).content == before.content
        assert remembered(client, "1") == 1

        clock = project.clock()
        ingest(project.with_clock(FixedClock(datetime(2025, 4, 1, 18, tzinfo=UTC))))
        project.with_clock(clock)
        assert ask(client, as_of).content == before.content  # not looked at the lake yet
        ticks.now += 60  # the service looks again after a few seconds
        after = ask(client, as_of)
        assert after.content != before.content
        assert ask(client, as_of).content == after.content

    fresh = create_app(project, energy_app.services(), poll_interval=3600, shadow=False)
    with TestClient(fresh) as client:
        assert ask(client, as_of).content == after.content  # what no memory at all gives


def test_the_answer_key_names_what_the_answer_depends_on(project: Project) -> None:
    (service,) = energy_app.services()
    context = create_app(project, [service], follow=False).state.gateway.context

    def key(as_of: str, market: str = "GB", horizon: int = 24) -> Any:
        moment = datetime.fromisoformat(as_of)
        return service.answer_key(
            context, SimpleNamespace(market=market, as_of=moment, horizon_hours=horizon)
        )

    assert key("2025-03-30T10:00:00+00:00") is None  # nothing read yet: features() reads
    service.features(
        context,
        SimpleNamespace(market="GB", as_of=datetime(2025, 3, 30, 10, tzinfo=UTC), horizon_hours=24),
    )
    base = key("2025-03-30T10:00:00+00:00")
    assert base is not None and base == key("2025-03-30T10:00:00+00:00")
    assert base == key("2025-03-30T10:00:01+00:00")  # the same answer, restamped
    assert base != key("2025-03-30T10:00:00+00:00", horizon=12)
    assert base != key("2025-03-30T10:00:00+00:00", market="DE")
    assert base != key("2025-03-30T10:40:00+00:00")  # a new first period, new rows known


def test_as_of_now_asked_again_is_answered_from_memory_with_its_own_as_of(
    project: Project,
) -> None:
    """Moments that see the same data and targets share one answer; each response and ledger
    record still carries its own as_of, and equals what a gateway without memory answers."""
    app = create_app(project, energy_app.services(), poll_interval=3600, shadow=False)
    with TestClient(app) as client:
        ask(client, "2025-03-31T11:00:00Z")  # reads the lake
        first = ask(client, "2025-03-31T11:01:00Z")
        later = ask(client, "2025-03-31T11:17:30Z")
        assert remembered(client, "1") == 1  # one answer, remembered once
        assert later.json()["as_of"] == "2025-03-31T11:17:30Z"
        assert later.json()["forecasts"] == first.json()["forecasts"]
        own = ("as_of", "freshness")  # its moment, and its inputs' ages seen from it
        assert {k: v for k, v in later.json().items() if k not in own} == {
            k: v for k, v in first.json().items() if k not in own
        }
    fresh = create_app(project, energy_app.services(), poll_interval=3600, shadow=False)
    with TestClient(fresh) as client:
        assert ask(client, "2025-03-31T11:17:30Z").content == later.content
    records = read_predictions(project.ledger_url, service="price-forecast", limit=10_000)
    logged = {r.request_id: r for r in records}
    record = logged[later.headers["X-Request-ID"]]
    assert record.as_of == datetime(2025, 3, 31, 11, 17, 30, tzinfo=UTC)
    assert record.inputs_hash == logged[first.headers["X-Request-ID"]].inputs_hash
