"""The gateway in process (TestClient): services, hot swap, shadow, ledger, MLflow scoring."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from heliograph.apps.energy import app as energy_app
from heliograph.apps.energy import model_name, train_market
from heliograph.core import Project
from heliograph.gateway import create_app
from heliograph.ledger import Ledger, read_predictions
from heliograph.registry import Registry
from heliograph.tracking import mlflow_client, tracked_run
from tests.conftest import energy_project

pytestmark = pytest.mark.filterwarnings(
    "ignore::UserWarning:mlflow.*", "ignore:.*type hint:UserWarning"
)
GB = model_name("GB")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    project = energy_project(tmp_path_factory.mktemp("gateway"))
    first = train_market(project, "GB", models=["seasonal_naive"], backtest_days=7)
    Registry(project).promote(GB, reason="first")
    second = train_market(project, "GB", models=["lear"], backtest_days=7)
    assert (first.version, second.version) == ("1", "2")
    return project


@pytest.fixture
def client(project: Project) -> Iterator[TestClient]:
    app = create_app(project, energy_app.services(), poll_interval=3600)  # tests poll by hand
    with TestClient(app) as client:
        yield client


def gateway(client: TestClient) -> Any:
    return client.app.state.gateway  # type: ignore[attr-defined]


def test_price_forecast_answers_with_the_champion(client: TestClient) -> None:
    response = client.post(
        "/v1/services/price-forecast/predict", json={"market": "GB", "horizon_hours": 24}
    )
    assert response.status_code == 200, response.text
    assert response.headers["X-Model-Version"] == "1"
    body = response.json()
    assert body["version"] == "1" and body["model"] == GB
    assert body["as_of"].startswith("2025-03-31T12:00")
    points = body["forecasts"]
    assert len(points) == 48
    assert points[0]["timestamp"].startswith("2025-03-31T12:30")
    assert all(p["p10"] <= p["p50"] <= p["p90"] for p in points)


def test_bad_requests_name_the_field(client: TestClient) -> None:
    bad = client.post(
        "/v1/services/price-forecast/predict", json={"market": "gb", "horizon_hours": 0}
    )
    assert bad.status_code == 422
    fields = {d["field"] for d in bad.json()["details"]}
    assert fields == {"body.market", "body.horizon_hours"}
    unknown = client.post("/v1/services/price-forecast/predict", json={"market": "XX"})
    assert unknown.status_code == 404 and unknown.json()["field"] == "market"  # no such market
    nowhere = client.post("/v1/services/weather/predict", json={})
    assert nowhere.status_code == 404
    assert sorted(nowhere.json()["services"]) == [
        "/v1/services/battery-schedule/predict",
        "/v1/services/price-forecast/predict",
    ]
    assert "X-Request-ID" in nowhere.headers


def test_operations_endpoints(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"]
    loaded = {
        (m["model"], m["role"]): m["version"] for m in client.get("/v1/services").json()["loaded"]
    }
    assert loaded == {(GB, "champion"): "1", (GB, "challenger"): "2"}
    client.post("/v1/services/price-forecast/predict", json={"market": "GB"})
    metrics = client.get("/metrics").text
    assert 'helio_model_served{model="energy-price-GB",role="champion",version="1"} 1.0' in metrics
    assert "helio_requests_total" in metrics and "helio_ledger_queue_depth" in metrics
    assert client.get("/openapi.json").json()["paths"]["/v1/services/price-forecast/predict"]


def test_hot_swap_rollback_and_a_failed_load(project: Project, client: TestClient) -> None:
    registry = Registry(project)
    registry.promote(GB, reason="lear is better")
    gateway(client).follower.sync()
    after = client.post("/v1/services/price-forecast/predict", json={"market": "GB"})
    assert after.headers["X-Model-Version"] == "2"

    registry.rollback(GB, reason="test rollback")
    gateway(client).follower.sync()  # version 1 is still in memory: no reload
    assert (
        client.post("/v1/services/price-forecast/predict", json={"market": "GB"}).headers[
            "X-Model-Version"
        ]
        == "1"
    )

    broken = _register_broken(project)
    mlflow_client(project).set_registered_model_alias(GB, "champion", broken)
    gateway(client).follower.sync()
    still = client.post("/v1/services/price-forecast/predict", json={"market": "GB"})
    assert still.status_code == 200 and still.headers["X-Model-Version"] == "1"
    [event] = Ledger(project.ledger_url).events(kind="deploy_failed", limit=1)
    assert f"v{broken} failed" in event.reason and "version 1 keeps serving" in event.reason
    mlflow_client(project).set_registered_model_alias(GB, "champion", "1")


def _register_broken(project: Project) -> str:
    import mlflow
    import mlflow.pyfunc

    class Broken(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
        def predict(
            self, context: Any, model_input: pd.DataFrame, params: Any = None
        ) -> pd.DataFrame:
            raise RuntimeError("this model is broken")

    with tracked_run(project, "broken", "broken"):
        info = mlflow.pyfunc.log_model(
            name="model", python_model=Broken(), input_example=pd.DataFrame({"x": [1.0]})
        )
    return Registry(project).register(GB, info.model_uri, reason="a broken version")


def test_every_prediction_reaches_the_ledger_with_a_shadow(project: Project) -> None:
    app = create_app(project, energy_app.services(), poll_interval=3600)
    champion = Registry(project).aliases(GB)["champion"]
    mlflow_client(project).set_registered_model_alias(
        GB, "challenger", "2" if champion == "1" else "1"
    )
    with TestClient(app) as client:
        ids = []
        for _ in range(5):
            response = client.post("/v1/services/price-forecast/predict", json={"market": "GB"})
            ids.append(response.headers["X-Request-ID"])
    records = read_predictions(project.ledger_url, service="price-forecast", limit=1000)
    mine = [r for r in records if r.request_id in ids]
    assert sorted(r.role for r in mine) == ["challenger"] * 5 + ["champion"] * 5
    champion_rows = [r for r in mine if r.role == "champion"]
    assert {r.model_version for r in champion_rows} == {champion}
    assert all(r.inputs_hash and r.target_start and r.latency_ms > 0 for r in mine)


def test_mlflow_compatible_invocations(client: TestClient) -> None:
    model = gateway(client).store.get(GB, "champion")
    example = model.input_example
    split = {
        "dataframe_split": {"columns": list(example.columns), "data": example.to_numpy().tolist()}
    }
    for payload in (
        split,
        {"dataframe_records": example.to_dict("records")},
        {"instances": example.to_dict("records")},
        {"inputs": example.to_dict("list")},
    ):
        response = client.post(f"/v1/models/{GB}/invocations", json=payload)
        assert response.status_code == 200, response.text
        assert response.headers["X-Model-Version"] == model.version
        assert len(response.json()["predictions"]) == len(example)
    plain = client.post("/invocations", json=split)  # the only model served
    assert plain.status_code == 200
    assert client.post("/invocations", content=b"{nope").status_code == 400
    assert client.post("/invocations", json={"rows": []}).status_code == 400


def test_helio_serve_drains_and_flushes_on_sigterm(project: Project) -> None:
    """The real process: requests answered, SIGTERM, every prediction in the ledger."""
    import json
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "HELIO_PROGRESS": "0", "HELIO_CLOCK__MODE": "real"}
    env.pop("MLFLOW_TRACKING_URI", None)  # the gateway must find the project's registry itself
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "heliograph.cli",
            "-p",
            str(project.root),
            "serve",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=1) as ready:
                    if ready.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("gateway not ready: " + server.stderr.read())
        ids = []
        for _ in range(20):
            request = urllib.request.Request(
                f"{base}/v1/services/price-forecast/predict",
                method="POST",
                data=json.dumps({"market": "GB", "as_of": "2025-03-31T12:00:00Z"}).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                assert response.status == 200
                ids.append(response.headers["X-Request-ID"])
        server.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal: -SIGTERM is a clean exit
        assert server.wait(timeout=60) in (0, -signal.SIGTERM), server.stderr.read()
    finally:
        if server.poll() is None:
            server.kill()
        server.communicate()
    records = read_predictions(
        project.ledger_url, service="price-forecast", role="champion", limit=10_000
    )
    assert len({r.request_id for r in records} & set(ids)) == 20


def test_each_gateway_process_gets_its_own_spool(tmp_path: Any) -> None:
    from heliograph.ledger import claim_spool

    first = claim_spool(tmp_path)
    second = claim_spool(tmp_path)
    assert first.folder != second.folder
    first.release()  # the first process ends: its folder (and leftovers) is taken next
    third = claim_spool(tmp_path)
    assert third.folder == first.folder
    second.release()
    third.release()


def test_a_signed_registry_webhook_swaps_at_once(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    import base64
    import hashlib
    import hmac
    import json
    import time

    monkeypatch.setenv("HELIO_GATEWAY__WEBHOOK_SECRET", "s3cret")
    configured = Project.load(project.root).with_clock(project.clock())
    app = create_app(configured, energy_app.services(), poll_interval=3600)  # only the hook
    with TestClient(app) as client:
        before = client.post("/v1/services/price-forecast/predict", json={"market": "GB"})
        other = "2" if before.headers["X-Model-Version"] == "1" else "1"
        mlflow_client(project).set_registered_model_alias(GB, "champion", other)
        body = json.dumps(
            {
                "entity": "model_version_alias",
                "action": "created",
                "data": {"name": GB, "alias": "champion", "version": other},
            }
        )
        stamp = str(int(time.time()))
        digest = hmac.new(b"s3cret", f"d1.{stamp}.{body}".encode(), hashlib.sha256).digest()
        headers = {
            "X-MLflow-Delivery-Id": "d1",
            "X-MLflow-Timestamp": stamp,
            "X-MLflow-Signature": "v1," + base64.b64encode(digest).decode(),
            "Content-Type": "application/json",
        }
        forged = client.post(
            "/v1/registry/webhook",
            content=body,
            headers={**headers, "X-MLflow-Signature": "v1,AAAA"},
        )
        assert forged.status_code == 401
        assert client.post("/v1/registry/webhook", content=body, headers=headers).json() == {
            "accepted": True
        }
        for _ in range(100):
            now = client.post("/v1/services/price-forecast/predict", json={"market": "GB"})
            if now.headers["X-Model-Version"] == other:
                break
            time.sleep(0.1)
        assert now.headers["X-Model-Version"] == other
    mlflow_client(project).set_registered_model_alias(
        GB, "champion", before.headers["X-Model-Version"]
    )


def test_the_gateway_serves_while_the_ledger_is_down(
    project: Project, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events and predictions wait in the spool; answering never depends on the ledger."""
    monkeypatch.setenv(
        "HELIO_LEDGER__URL", "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"
    )
    down = Project.load(project.root).with_clock(project.clock())
    app = create_app(down, energy_app.services(), poll_interval=3600)
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 200
        response = client.post("/v1/services/price-forecast/predict", json={"market": "GB"})
        assert response.status_code == 200
        gateway = client.app.state.gateway  # type: ignore[attr-defined]
        assert gateway.writer.flush(10)
        assert gateway.writer.stats()["spooled"] >= 1


def test_a_fresh_gateway_keeps_previous_loaded_so_a_rollback_needs_no_load(
    project: Project,
) -> None:
    """A promote makes the old champion `previous`: it stays loaded, and a rollback is a swap."""
    registry = Registry(project)
    client_ = mlflow_client(project)
    client_.set_registered_model_alias(GB, "champion", "2")
    client_.set_registered_model_alias(GB, "previous", "1")
    client_.delete_registered_model_alias(GB, "challenger")
    try:
        app = create_app(project, energy_app.services(), poll_interval=3600)
        with TestClient(app) as client:
            loaded = {
                (m["model"], m["role"]): m["version"]
                for m in client.get("/v1/services").json()["loaded"]
            }
            assert loaded == {(GB, "champion"): "2", (GB, "previous"): "1"}
            registry.rollback(GB, reason="test: rollback with no load")
            gateway(client).follower.sync()
            answer = client.post("/v1/services/price-forecast/predict", json={"market": "GB"})
            assert answer.headers["X-Model-Version"] == "1"
            events = Ledger(project.ledger_url).events(kind="deployed", limit=5)
            event = next(e for e in events if e.details["role"] == "champion")
            assert event.reason.startswith("champion v1 now served (was 2)")
            assert "already loaded" in event.reason and "loaded in" not in event.reason
    finally:
        client_.set_registered_model_alias(GB, "champion", "1")
        client_.set_registered_model_alias(GB, "challenger", "2")
        client_.delete_registered_model_alias(GB, "previous")


BAD_SCORING_INPUT: list[Any] = [
    None,
    [1, 2],
    "rows",
    {"dataframe_records": [{"a": 1}]},
    {"dataframe_records": 5},
    {"dataframe_records": []},
    {"dataframe_records": [1, 2]},
    {"dataframe_split": "x"},
    {"dataframe_split": {"columns": ["a"], "data": [[1]]}},
    {"dataframe_split": {"data": [[1, 2]]}},
    {"dataframe_split": {"data": "abc"}},
    {"dataframe_split": {}},
    {"instances": []},
    {"instances": [[1, 2]]},
    {"instances": "x"},
    {"instances": [[[1]]]},
    {"inputs": {"a": [1]}},
    {"inputs": {"a": 1}},
    {"inputs": [{"a": "b"}]},
]


@pytest.mark.parametrize("payload", BAD_SCORING_INPUT, ids=repr)
def test_bad_scoring_input_is_a_400_naming_the_problem(client: TestClient, payload: Any) -> None:
    response = client.post(f"/v1/models/{GB}/invocations", json=payload)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["field"] and body["rule"] and body["request_id"]


def test_scoring_input_missing_columns_names_them(client: TestClient) -> None:
    model = gateway(client).store.get(GB, "champion")
    record = model.input_example.iloc[0].to_dict()
    del record[model.columns[0]], record[model.columns[-1]]
    for path in ("/invocations", f"/v1/models/{GB}/invocations"):
        response = client.post(path, json={"dataframe_records": [record]})
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["error"].startswith("missing columns")
        assert model.columns[0] in body["error"] and model.columns[-1] in body["error"]
    wrong = client.post("/invocations", json={"dataframe_records": [{"a": 1}]})
    assert wrong.status_code == 400 and model.columns[0] in wrong.json()["error"]
    text = {**model.input_example.iloc[0].to_dict(), model.columns[0]: "high"}
    typed = client.post("/invocations", json={"dataframe_records": [text]})
    assert typed.status_code == 400 and typed.json()["field"] == model.columns[0]


def test_the_docs_page_works_offline(client: TestClient) -> None:
    """/docs loads Swagger UI from the gateway itself, never from a CDN."""
    import re

    page = client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: ?["']([^"']+)["']""", page.text)
    found = [u for pair in urls for u in pair if u]
    assert any(u.endswith(".js") for u in found) and any(u.endswith(".css") for u in found)
    for url in found:
        assert url.startswith("/"), f"/docs loads {url} from elsewhere"
        assert client.get(url).status_code == 200, url
