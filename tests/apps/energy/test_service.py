"""The price-forecast service answers only what it can stand behind.

An ``as_of`` after the clock's now or before any input is a 422 naming ``as_of``; an unknown
market a 404; inputs older than ``[gateway] max_input_age_hours`` are refused (503, saying what
to run); every answer says how old its newest inputs were, which features had no value, and
where its features came from (the online store, or the lake when the store cannot vouch). The
same request gets the same answer whatever was asked before it, and the same as the model on
``compute_offline``'s rows.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from heliograph.apps.energy import model_name
from heliograph.apps.energy._service import PriceForecast, PriceRequest
from heliograph.core import FixedClock, Project
from heliograph.gateway import create_app
from heliograph.registry import Registry
from heliograph.serving import ServiceContext, load_version

pytestmark = pytest.mark.filterwarnings(
    "ignore::UserWarning:mlflow.*", "ignore:.*type hint:UserWarning"
)
PATH = "/v1/services/price-forecast/predict"
NOW = datetime(2025, 3, 31, 12, tzinfo=UTC)  # the lake was last fed at this moment


@pytest.fixture(scope="module")
def root(served_gb: Path) -> Path:
    return served_gb


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
        assert len(gateway.answers) == 1
        gateway.context.clock.advance(timedelta(minutes=15))
        late = refused_as_of(ask(client), 503)
        assert "energy_forecasts" in late["error"] and "energy_prices" not in late["error"]
    with gateway_at(root, start + timedelta(minutes=15), max_input_age_hours=23.75) as fresh:
        assert ask(fresh).json() | {"request_id": ""} == late | {"request_id": ""}


# -- the online store behind the service ------------------------------------------------------


def offline_answer(project: Project, model: Any, market: str, as_of: datetime, hours: int) -> Any:
    """What the model says on compute_offline's rows for the service's targets."""
    from heliograph.apps.energy import ONLINE_PRICE_FEATURES, PriceFeatures
    from heliograph.features import compute_offline, online_requests
    from heliograph.lake import open_lake

    step = pd.Timedelta(minutes=30)
    stamps = ONLINE_PRICE_FEATURES.targets(
        step, pd.Timestamp(as_of), pd.Timestamp(as_of) + pd.Timedelta(hours=hours)
    )
    rows = compute_offline(
        open_lake(project),
        PriceFeatures(),
        online_requests(ONLINE_PRICE_FEATURES, market, stamps, as_of),
    )
    return rows, model.predict_cached(model.inputs(rows))


@pytest.mark.parametrize(
    ("as_of", "source"),
    [
        (NOW, "online"),  # now
        (NOW - timedelta(hours=7, minutes=13), "online"),  # in the past, within the retention
        (NOW - timedelta(days=5, minutes=41), "lake"),  # before it: from the lake, and said so
    ],
)
def test_an_answer_in_process_equals_the_model_on_offline_features(
    root: Path, as_of: datetime, source: str
) -> None:
    """The batch predict job's way: no HTTP, the service's answer from the store (or the lake)
    is the model's prediction on the rows compute_offline gives for the same targets."""
    project = Project.load(root).with_clock(FixedClock(NOW))
    model = load_version(Registry(project), model_name("GB"), "1")
    context = ServiceContext.open(project)
    service = PriceForecast()
    try:
        done = service.answer(
            context, PriceRequest(market="GB", as_of=as_of, horizon_hours=24), model
        )
    finally:
        context.store.close()
    assert done.features.source == source and done.response.source == source  # type: ignore[attr-defined]
    assert ("retention" in done.features.reason) == (source == "lake")
    rows, outputs = offline_answer(project, model, "GB", as_of, 24)
    pd.testing.assert_frame_equal(done.features.rows, rows)
    forecasts = done.response.forecasts  # type: ignore[attr-defined]
    assert [p.p50 for p in forecasts] == list(outputs["p50"])
    assert [p.timestamp for p in forecasts] == list(rows["timestamp"])


def test_the_scheduled_question_is_each_market_24_hours_as_of_now(root: Path) -> None:
    project = Project.load(root).with_clock(FixedClock(NOW))
    context = ServiceContext.open(project)
    try:
        asked = PriceForecast().scheduled(context, NOW)
    finally:
        context.store.close()
    assert [(r.market, r.as_of, r.horizon_hours) for r in asked] == [("GB", NOW, 24)]  # type: ignore[attr-defined]
    assert PriceForecast.every == timedelta(minutes=30)


def test_bad_requests_name_the_field_and_the_rule_and_nothing_is_a_500(
    client: TestClient,
) -> None:
    unknown = client.post(PATH, json={"market": "XX"})
    assert unknown.status_code == 404 and unknown.json()["field"] == "market"
    for body, field in [
        ({"market": "gb"}, "body.market"),
        ({"market": "GB", "horizon_hours": 0}, "body.horizon_hours"),
        ({"market": "GB", "horizon_hours": 49}, "body.horizon_hours"),
        ({"market": "GB", "as_of": "yesterday"}, "body.as_of"),
        ({"horizon_hours": 3}, "body.market"),
    ]:
        response = client.post(PATH, json=body)
        assert response.status_code == 422, (body, response.text)
        (detail,) = response.json()["details"]
        assert detail["field"] == field and detail["rule"], detail
    assert client.post(PATH, content=b"{not json").status_code == 422
    assert client.post(PATH, json=[1, 2]).status_code == 422
    early = client.post(PATH, json={"market": "GB", "as_of": "2020-01-01T00:00:00Z"})
    assert early.status_code == 422 and early.json()["field"] == "as_of"


def test_new_data_not_yet_materialised_is_answered_from_the_lake_and_says_so(
    root: Path, tmp_path: Path
) -> None:
    """Ingest materialises what it published; until it has (or when it failed), the answer is
    computed from the lake, says so, and readiness shows the store's state."""
    from heliograph.features import OnlineStore
    from heliograph.jobs import ingest

    copy = tmp_path / "copy"  # a copy of the module's project: this test feeds its lake
    shutil.copytree(root, copy)
    project = Project.load(copy).with_clock(FixedClock(NOW))
    later = NOW + timedelta(days=1)
    app = create_app(project.with_clock(FixedClock(later)), [PriceForecast()], shadow=False)
    with TestClient(app) as client:
        first = ask(client)
        assert first.status_code == 200 and first.json()["source"] == "online"
        assert first.headers["X-Answer"] == "computed"
        assert ask(client).headers["X-Answer"] == "remembered"
        outcome = ingest(project.with_clock(FixedClock(later)))  # publishes and materialises
        assert outcome.materialized and not outcome.materialize_errors
        after = ask(client)
        assert after.json()["source"] == "online" and after.headers["X-Answer"] == "computed"
        assert after.json()["freshness"] != first.json()["freshness"]  # the new data is seen
        # a publication whose materialisation failed: the store is behind, answers from the lake
        store = OnlineStore.open(project)
        try:
            head = store.head(PriceForecast.online)  # type: ignore[arg-type]
            assert head is not None
            head.update(status="failed", error="RuntimeError: the view broke", fingerprint={})
            store.backend.write(
                {store.key(PriceForecast.online, "head"): json.dumps(head).encode()}
            )  # type: ignore[arg-type]
        finally:
            store.close()
        time.sleep(1.05)  # the gateway looks at the lake once a second
        failed = ask(client)
        assert failed.status_code == 200 and failed.json()["source"] == "lake"
        assert failed.headers["X-Answer"] == "computed"
        assert failed.json()["forecasts"] == after.json()["forecasts"]  # still correct
        ready = client.get("/readyz").json()
        (view,) = ready["online_store"]
        assert view["state"] == "failed" and "broke" in view["error"] and view["behind"]
