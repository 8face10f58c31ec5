"""`POST /v1/services/recommendations/predict`: the champion's candidates shaped by the rules,
features from the online store, every answer in the ledger; an unknown user is cold start, a
malformed request a 422 naming the field."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from heliograph.apps.recsys import MODEL_NAME, train_recommender
from heliograph.apps.recsys._service import Recommendations
from heliograph.core import FixedClock, PolicySettings, Project
from heliograph.gateway import create_app
from heliograph.jobs import materialize
from heliograph.lake import open_lake
from heliograph.ledger import read_predictions
from heliograph.registry import Registry
from tests.apps.recsys.test_train import recsys_project

pytestmark = pytest.mark.filterwarnings(
    "ignore::UserWarning:mlflow.*", "ignore:.*type hint:UserWarning"
)
PATH = "/v1/services/recommendations/predict"
NOW = datetime(2024, 3, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = recsys_project(tmp_path_factory.mktemp("recsys-service"), NOW)
    train_recommender(project, models=["als"], test_days=10)
    policy = PolicySettings(metric="ndcg_at_10", direction="maximize")
    assert Registry(project).promote(MODEL_NAME, policy=policy).accepted
    materialize(project)
    return project.root


@pytest.fixture
def client(root: Path) -> Iterator[TestClient]:
    project = Project.load(root).with_clock(FixedClock(NOW))
    app = create_app(project, [Recommendations()], poll_interval=3600, shadow=False)
    with TestClient(app) as client:
        yield client


def test_a_known_user_gets_new_items_shaped_by_the_rules(client: TestClient, root: Path) -> None:
    lake = open_lake(Project.load(root))
    reviews = lake.read("recsys_reviews")
    user = str(reviews["user"].value_counts().index[0])
    response = client.post(PATH, json={"user": user, "k": 10})
    assert response.status_code == 200, response.text
    assert response.headers["X-Model-Version"] == "1"
    body = response.json()
    assert body["user"] == user and not body["cold_start"]
    items = [r["item"] for r in body["items"]]
    assert len(items) == len(set(items)) == 10
    assert not set(items) & set(reviews.loc[reviews["user"] == user, "item"])  # never reviewed
    assert all(r["rules"] and r["rules"][0] in {"retrieval", "new_item"} for r in body["items"])
    assert sum(r["rules"] == ["retrieval"] for r in body["items"]) >= 5
    catalogue = lake.read("recsys_items").sort_values("timestamp").groupby("item").tail(1)
    category = dict(zip(catalogue["item"], catalogue["category"], strict=True))
    assert max(Counter(category[i] for i in items).values()) <= 3  # at most 3 per category
    withdrawn = set(catalogue.loc[~catalogue["available"], "item"])
    assert not set(items) & withdrawn


def test_an_unknown_user_is_cold_start_not_an_error(client: TestClient) -> None:
    response = client.post(PATH, json={"user": "someone-new", "k": 5})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["cold_start"] and len(body["items"]) == 5
    assert body["items"][0]["rules"] == ["cold_start:popular"]
    scores = [r["score"] for r in body["items"] if r["rules"] == ["cold_start:popular"]]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0


@pytest.mark.parametrize(
    ("body", "field"),
    [({"k": 5}, "body.user"), ({"user": "u1", "k": 0}, "body.k"), ({"user": ""}, "body.user")],
)
def test_a_malformed_request_is_a_422_naming_the_field(
    client: TestClient, body: dict[str, object], field: str
) -> None:
    response = client.post(PATH, json=body)
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["details"]] == [field]


def test_every_answer_is_in_the_ledger(root: Path) -> None:
    project = Project.load(root).with_clock(FixedClock(NOW))
    app = create_app(project, [Recommendations()], poll_interval=3600, shadow=False)
    with TestClient(app) as client:
        ids = [
            client.post(PATH, json={"user": user, "k": 3}).headers["X-Request-ID"]
            for user in ("u00001", "nobody")
        ]
    records = read_predictions(project.ledger_url, service="recommendations", limit=100)
    mine = {r.request_id: r for r in records if r.request_id in ids}
    assert set(mine) == set(ids)
    assert {r.model_name for r in mine.values()} == {MODEL_NAME}
    assert all(r.role == "champion" and r.inputs_hash for r in mine.values())
