"""The served recommendations are the offline ones: the user's history read from the lake,
the champion asked through MLflow's pyfunc with a frame pandas infers, the declared rules
applied — for many users, known and unknown (the service's fast path changes no answer)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from heliograph.apps.recsys import MODEL_NAME, UserHistory, apply_rules, user_key
from heliograph.apps.recsys._service import SERVED_RULES, Recommendations
from heliograph.core import FixedClock, Project
from heliograph.features import OnlineStore
from heliograph.gateway import create_app
from heliograph.lake import open_lake
from heliograph.registry import Registry
from heliograph.serving import load_version
from tests.apps.recsys.conftest import SHOP_NOW, Shop

pytestmark = pytest.mark.filterwarnings(
    "ignore::UserWarning:mlflow.*", "ignore:.*type hint:UserWarning"
)
PATH = "/v1/services/recommendations/predict"


@pytest.fixture(scope="module")
def served(shop: Shop) -> Iterator[tuple[TestClient, Recommendations]]:
    project = Project.load(shop.project.root).with_clock(FixedClock(SHOP_NOW))
    service = Recommendations()
    app = create_app(project, [service], poll_interval=3600, shadow=False)
    with TestClient(app) as client:
        yield client, service


def test_served_answers_equal_the_offline_ones_for_many_users(
    shop: Shop, served: tuple[TestClient, Recommendations]
) -> None:
    client, service = served
    project = Project.load(shop.project.root).with_clock(FixedClock(SHOP_NOW))
    reviews = open_lake(project).read("recsys_reviews")
    counts = reviews["user"].astype(str).value_counts()
    users = [*counts.index[:12], *counts.index[-6:], "nobody-1", "nobody-2"]
    champion = Registry(project).version_of(MODEL_NAME, "champion")
    assert champion is not None
    pyfunc = load_version(Registry(project), MODEL_NAME, champion).pyfunc
    store = OnlineStore.open(project)
    compared = 0
    for user in users:
        response = client.post(PATH, json={"user": user, "k": 10})
        assert response.status_code == 200, response.text
        body = response.json()
        catalogue = service.catalogue(store, SHOP_NOW)
        history = UserHistory.as_of(reviews, user, SHOP_NOW, catalogue)
        asked = pd.DataFrame(
            {"user_key": [user_key(user)], "n": [float(50 + len(history.reviewed))]}
        )
        out = pyfunc.predict(asked)
        if out["known"].iloc[0]:
            pool = list(
                zip(
                    json.loads(out["items"].iloc[0]), json.loads(out["scores"].iloc[0]), strict=True
                )
            )
            expected = apply_rules(
                pool, k=10, rules=SERVED_RULES, user=history, catalogue=catalogue
            )
            assert not body["cold_start"]
            assert [(r["item"], r["score"], r["rules"]) for r in body["items"]] == [
                (r.item, r.score, list(r.rules)) for r in expected
            ], user
            compared += 1
        else:
            assert body["cold_start"]
    store.close()
    assert compared >= 12
