"""Fuzzing the gateway with schemathesis, from its own OpenAPI, every route, in process.

Schemathesis's cases come from the schema, which knows no market the lake holds and no body
for the MLflow scoring routes (they read the raw body): the domain route's valid cases are
therefore also asked for the served market, and the scoring and webhook routes get bodies
and headers from Hypothesis's own JSON and text strategies.

The project is small and fresh (``tests/energy_project.py``: a replay clock at real speed just
after the data, so no answer is refused as stale by ``[gateway] max_input_age_hours``), with a
champion served. Schemathesis sends valid and invalid requests to every operation of the
gateway's ``/openapi.json``; whatever it sends, the gateway must not answer 5xx, and every 4xx
must name the field and the rule (``{"field": …, "rule": …}``, or ``details`` of them for a
422). Examples are few and derandomized, so the run is short and the same every time.

Schemathesis's pytest plugin (``from_fixture``) does not work with pytest 9 (it sets
``node._nodeid``), so each operation's strategy is driven by Hypothesis's ``@given`` here.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from heliograph.core import Project, load_app
from heliograph.gateway import create_app
from tests.energy_project import small_energy_project

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:mlflow.*")

EXAMPLES = {GenerationMode.POSITIVE: 10, GenerationMode.NEGATIVE: 25}
SERVED = {"market": "GB"}  # the small project's one market
FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
FLOATS = st.floats(allow_nan=False, allow_infinity=False)  # what JSON can carry
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | FLOATS | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
NUMBERISH = st.none() | st.booleans() | st.integers() | FLOATS | st.text(max_size=6)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    folder = Path(tmp_path_factory.mktemp("fuzz")) / "p"
    small_energy_project(folder)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HELIO_GATEWAY__WEBHOOK_SECRET", "fuzz")  # so the webhook route checks
        project = Project.load(folder)
    app = create_app(project, load_app("energy").services(), poll_interval=3600)
    with TestClient(app):  # the lifespan: the champion is loaded before the first case
        yield app


@pytest.fixture(scope="module")
def client(app: Any) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


def _judge(where: str, response: Any, found: list[str]) -> None:
    if response.status_code >= 500:
        found.append(f"{where} -> {response.status_code} {response.text[:300]}")
    elif response.status_code >= 400 and not _names_field_and_rule(_json(response)):
        found.append(f"unnamed: {where} -> {response.status_code} {response.text[:300]}")


def _names_field_and_rule(body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    if "details" in body:
        details = body["details"]
        return bool(details) and all(
            isinstance(d, dict) and d.get("field") and d.get("rule") for d in details
        )
    return bool(body.get("field")) and bool(body.get("rule"))


def _served(case: Any, served: bool) -> Any:
    if served and isinstance(case.body, dict):
        case.body.update({k: v for k, v in SERVED.items() if k in case.body})
    return case


def _fuzz(
    operation: Any, mode: GenerationMode, examples: int, found: list[str], answered: set[str]
) -> None:
    cases = operation.as_strategy(generation_mode=mode)
    if mode is GenerationMode.POSITIVE:
        cases = st.builds(_served, cases, st.booleans())

    @given(case=cases)
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = case.call()
        where = f"{case.method} {case.formatted_path} query={case.query!r} body={case.body!r}"
        _judge(where, response, found)
        if response.status_code == 200:
            answered.add(f"{case.method} {case.path}")

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid: an operation without parameters or body
        if mode is not GenerationMode.NEGATIVE:
            raise


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def test_nothing_a_client_sends_is_a_5xx_and_every_4xx_names_field_and_rule(app: Any) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    routes = {
        (method, route.path)
        for route in app.routes
        if getattr(route, "include_in_schema", False) and hasattr(route, "methods")
        for method in route.methods
    }
    assert {(op.method.upper(), op.path) for op in operations} == routes  # every route
    found: list[str] = []
    answered: set[str] = set()
    for operation in operations:
        for mode, examples in EXAMPLES.items():
            _fuzz(operation, mode, examples, found, answered)
    assert not found, "\n".join(dict.fromkeys(found))
    # The lake is fresh: the domain route answered some of the valid cases, not only refusals.
    assert "POST /v1/services/price-forecast/predict" in answered, answered


def test_any_json_to_the_scoring_routes_is_a_prediction_or_a_named_4xx(client: TestClient) -> None:
    formats = st.one_of(
        JSON,
        st.fixed_dictionaries({"dataframe_split": JSON}),
        st.fixed_dictionaries(
            {
                "dataframe_split": st.fixed_dictionaries(
                    {
                        "columns": st.lists(st.text(max_size=6), max_size=3) | JSON,
                        "data": st.lists(st.lists(NUMBERISH, max_size=3), max_size=3) | JSON,
                    }
                )
            }
        ),
        st.fixed_dictionaries(
            {
                "dataframe_records": st.lists(
                    st.dictionaries(st.text(max_size=6), NUMBERISH, max_size=3), max_size=3
                )
                | JSON
            }
        ),
        st.fixed_dictionaries({"instances": JSON}),
        st.fixed_dictionaries(
            {
                "inputs": st.dictionaries(
                    st.text(max_size=6), st.lists(NUMBERISH, max_size=3), max_size=3
                )
                | JSON
            }
        ),
    )
    paths = st.sampled_from(
        [
            "/invocations",
            "/invocations?model=energy-price-GB",
            "/invocations?model=nope",
            "/v1/models/energy-price-GB/invocations",
            "/v1/models/nope/invocations",
        ]
    )
    found: list[str] = []

    @given(path=paths, body=formats)
    @FUZZ
    def run(path: str, body: Any) -> None:
        _judge(f"POST {path} {body!r}", client.post(path, json=body), found)

    run()
    assert not found, "\n".join(dict.fromkeys(found))


def test_any_headers_to_the_webhook_are_a_named_401(client: TestClient) -> None:
    header = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=12)
    now = str(int(time.time()))  # a signature's timestamp must be recent to be looked at
    stamps = header | st.just(now) | st.sampled_from(["\u00b2", now + "\u00b9"])
    found: list[str] = []

    @given(
        delivery=header,
        stamp=stamps,
        signature=header.map(lambda s: "v1," + s),
        body=st.binary(max_size=20),
    )
    @FUZZ
    def run(delivery: str, stamp: str, signature: str, body: bytes) -> None:
        headers = {
            "X-MLflow-Delivery-Id": delivery.encode("latin-1"),
            "X-MLflow-Timestamp": stamp.encode("latin-1"),
            "X-MLflow-Signature": signature.encode("latin-1"),
        }
        response = client.post("/v1/registry/webhook", content=body, headers=headers)
        _judge(f"POST webhook {headers!r}", response, found)

    run()
    assert not found, "\n".join(dict.fromkeys(found))


# Moments at the ends of what a datetime holds, in and out of UTC, and before pandas'
# nanosecond timestamps (1677): each once overflowed somewhere (a 500) on the way to the store.
EXTREME_MOMENTS = [
    "0001-01-01T00:00:00",
    "0001-01-01T00:00:00+05:00",
    "0001-01-01T00:00:00-05:00",
    "1600-01-01T00:00:00Z",
    "1899-12-31T23:59:59Z",
    "9999-12-31T23:59:59-05:00",
    "9999-12-31T23:59:59",
]


@pytest.mark.parametrize("service", ["price-forecast", "battery-schedule"])
def test_an_as_of_at_the_ends_of_time_is_a_422_naming_as_of(
    client: TestClient, service: str
) -> None:
    path = f"/v1/services/{service}/predict"
    warm = client.post(path, json={"market": "GB"})  # the store's reader and memory warmed:
    assert warm.status_code == 200, warm.text  # the remembered path is looked at first
    for moment in EXTREME_MOMENTS:
        for _ in range(2):  # computed, then from what the gateway remembers
            response = client.post(path, json={"market": "GB", "as_of": moment})
            assert response.status_code == 422, (moment, response.text)
            body = response.json()
            assert body["field"] == "as_of", (moment, body)
            assert "1900-01-01T00:00:00Z" in body["rule"] and "now" in body["rule"], body


def test_a_schedule_for_the_last_day_a_date_holds_is_a_422_naming_day(client: TestClient) -> None:
    for day in ("9999-12-31", "0001-01-01"):
        response = client.post(
            "/v1/services/battery-schedule/predict", json={"market": "GB", "day": day}
        )
        assert response.status_code == 422, (day, response.text)
        assert response.json()["field"] == "day", response.text
