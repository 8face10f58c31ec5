"""`POST /v1/services/recommendations/predict`: the champion's candidates shaped by the rules,
features from the online store, every answer in the ledger; an unknown user is cold start, a
malformed request a 422 naming the field."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from heliograph.apps.recsys import MODEL_NAME, live_hit_rate, served_recommendations
from heliograph.apps.recsys._service import Recommendations
from heliograph.core import FixedClock, Project
from heliograph.features import OnlineStore, SQLiteBackend
from heliograph.gateway import create_app
from heliograph.lake import open_lake
from heliograph.ledger import read_predictions
from heliograph.monitoring import hit_rate
from tests.apps.recsys.conftest import SHOP_NOW, Shop

pytestmark = pytest.mark.filterwarnings(
    "ignore::UserWarning:mlflow.*", "ignore:.*type hint:UserWarning"
)
PATH = "/v1/services/recommendations/predict"
NOW = SHOP_NOW


@pytest.fixture(scope="module")
def root(shop: Shop) -> Path:
    return shop.project.root


@pytest.fixture(scope="module")
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


def test_with_nothing_materialised_the_features_come_from_the_lake(root: Path) -> None:
    project = Project.load(root).with_clock(FixedClock(NOW))
    empty = OnlineStore(SQLiteBackend(root / "empty-online.db"), open_lake(project))
    app = create_app(project, [Recommendations(store=empty)], poll_interval=3600, shadow=False)
    reviews = open_lake(project).read("recsys_reviews")
    user = str(reviews["user"].value_counts().index[0])
    with TestClient(app) as client:
        response = client.post(PATH, json={"user": user, "k": 10})
    assert response.status_code == 200, response.text
    items = [r["item"] for r in response.json()["items"]]
    assert len(items) == 10 and not set(items) & set(reviews.loc[reviews["user"] == user, "item"])
    empty.close()


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


def test_every_answer_is_in_the_ledger(client: TestClient, root: Path) -> None:
    ids = [
        client.post(PATH, json={"user": user, "k": 3}).headers["X-Request-ID"]
        for user in ("u00001", "nobody")
    ]
    url = Project.load(root).ledger_url
    for _ in range(100):  # the gateway writes its records in the background
        records = read_predictions(url, service="recommendations", limit=100)
        mine = {r.request_id: r for r in records if r.request_id in ids}
        if len(mine) == len(ids):
            break
        time.sleep(0.1)
    assert set(mine) == set(ids)
    assert {r.model_name for r in mine.values()} == {MODEL_NAME}
    assert all(r.role == "champion" and r.inputs_hash and r.outputs for r in mine.values())


def test_live_hit_rate_judges_what_was_served_on_later_reviews(
    client: TestClient, root: Path
) -> None:
    users = ("u00002", "u00003")
    served = {
        u: [i["item"] for i in client.post(PATH, json={"user": u, "k": 5}).json()["items"]]
        for u in users
    }
    project = Project.load(root)
    for _ in range(100):  # the gateway writes its records in the background
        found = served_recommendations(project)
        if set(users) <= set(found["user"]):
            break
        time.sleep(0.1)
    later = pd.DataFrame(  # u00002 reviews its 2nd recommendation the next day; u00003 nothing
        {"user": ["u00002"], "item": [served["u00002"][1]], "timestamp": [NOW + timedelta(days=1)]}
    )
    mine = found[found["user"].isin(users)]
    assert {tuple(i) for i in mine["items"]} == {tuple(v) for v in served.values()}
    judged = hit_rate(mine, later, k=5, horizon=timedelta(days=7), now=NOW + timedelta(days=8))
    assert judged["hr_at_5"].tolist() == [0.5] and judged["role"].tolist() == ["champion"]
    table = live_hit_rate(project, k=5, now=NOW + timedelta(days=1), reviews=later)
    assert table["judged"].sum() == 0 and table["pending"].sum() >= 2  # the week is not over
