"""The recommender's user and item features: as of a moment offline, the same values online
(materialised by the `materialize` job, on SQLite and on the local Redis)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from heliograph.apps.recsys import (
    ONLINE_ITEM_FEATURES,
    ONLINE_USER_FEATURES,
    RecsysItemFeatures,
    RecsysUserFeatures,
)
from heliograph.core import Project
from heliograph.features import (
    OnlineStore,
    RedisBackend,
    compute_offline,
    online_requests,
)
from heliograph.jobs import materialize, online_views
from heliograph.lake import open_lake
from tests.apps.recsys.conftest import SHOP_NOW, Shop

REDIS_URL = "redis://127.0.0.1:6379/0"
NOW = SHOP_NOW
DAY = timedelta(days=1)


@pytest.fixture
def project(shop: Shop) -> Project:
    return shop.project


def _redis() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping()
    except (redis.RedisError, OSError) as exc:
        return f"no Redis at 127.0.0.1:6379 ({exc})"
    return None


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, project: Project) -> Iterator[Any]:
    """The project's own store (SQLite, materialised by the shop's `materialize` job), or a
    Redis one materialised here by the same job."""
    if request.param == "sqlite":
        store = OnlineStore.open(project, lake_check_seconds=0)
        yield store
        store.close()
        return
    missing = _redis()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}: CI must test the Redis backend, not skip it")
        pytest.skip(missing)
    prefix = f"helio-test:{uuid.uuid4().hex[:12]}:"
    backend = RedisBackend(REDIS_URL)
    store = OnlineStore(backend, open_lake(project), prefix=prefix, lake_check_seconds=0)
    done = materialize(project, store=store)
    assert {o.view for o in done} >= {ONLINE_USER_FEATURES.ref, ONLINE_ITEM_FEATURES.ref}
    yield store
    for view in (ONLINE_USER_FEATURES, ONLINE_ITEM_FEATURES):
        store.clear(view)
    assert backend.keys(prefix) == []
    store.close()


def _requests(online: Any, entity: str, as_of: datetime) -> pd.DataFrame:
    target = pd.DatetimeIndex([pd.Timestamp(as_of).floor("D") + pd.Timedelta(days=1)])
    return online_requests(online, entity, target, as_of)


def test_user_features_see_only_reviews_known_at_as_of(project: Project) -> None:
    reviews = open_lake(project).read("recsys_reviews")
    user = str(reviews["user"].value_counts().index[0])
    as_of = datetime(2024, 1, 20, 9, 30, tzinfo=UTC)
    rows = compute_offline(
        open_lake(project), RecsysUserFeatures(), _requests(ONLINE_USER_FEATURES, user, as_of)
    )
    mine = reviews[(reviews["user"] == user) & (reviews["available_at"] <= as_of)]
    got = json.loads(rows["reviewed"].iloc[0])
    assert set(got) == set(mine["item"]) and len(got) == len(set(mine["item"]))
    newest = mine.sort_values("timestamp").iloc[-1]["item"]
    assert got[0] == newest  # newest first: what recent categories are read from
    assert rows["reviews"].iloc[0] == len(set(mine["item"]))
    later = reviews[(reviews["user"] == user) & (reviews["available_at"] > as_of)]
    only_later = set(later["item"]) - set(mine["item"])
    assert only_later and not only_later & set(got)  # not yet known at as_of


def test_item_features_count_recent_reviews_known_at_as_of(project: Project) -> None:
    lake = open_lake(project)
    reviews = lake.read("recsys_reviews")
    item = str(reviews["item"].value_counts().index[0])
    as_of = datetime(2024, 1, 20, 15, tzinfo=UTC)
    rows = compute_offline(lake, RecsysItemFeatures(), _requests(ONLINE_ITEM_FEATURES, item, as_of))
    target = rows["timestamp"].iloc[0]
    known = reviews[(reviews["item"] == item) & (reviews["available_at"] <= as_of)]
    window = known[known["timestamp"] > target - pd.Timedelta(days=30)]
    assert rows["popularity"].iloc[0] == len(window) > 0
    catalogue = lake.read("recsys_items")
    mine = catalogue[(catalogue["item"] == item) & (catalogue["available_at"] <= as_of)]
    assert rows["category"].iloc[0] == mine.sort_values("timestamp")["category"].iloc[-1]
    assert rows["available"].iloc[0] == 1.0
    released = min(mine["timestamp"].min(), known["timestamp"].min())
    assert rows["released"].iloc[0] == released
    assert rows["age_days"].iloc[0] == pytest.approx((target - released) / pd.Timedelta(days=1))


def test_the_materialize_job_serves_the_offline_values(project: Project, store: Any) -> None:
    assert {v.ref for v in online_views(project)} >= {
        ONLINE_USER_FEATURES.ref,
        ONLINE_ITEM_FEATURES.ref,
    }
    assert store.status(ONLINE_USER_FEATURES).ready and store.status(ONLINE_ITEM_FEATURES).ready
    lake = open_lake(project)
    reviews = lake.read("recsys_reviews")
    as_of = NOW - timedelta(hours=3)
    for online, column in ((ONLINE_USER_FEATURES, "user"), (ONLINE_ITEM_FEATURES, "item")):
        for entity in reviews[column].astype(str).drop_duplicates().head(3):
            got = store.features(online, entity, as_of, horizon=DAY)
            assert got.source == "online", got.reason
            offline = compute_offline(lake, online.view, _requests(online, entity, as_of))
            pd.testing.assert_frame_equal(
                got.rows.reset_index(drop=True),
                offline.reset_index(drop=True),
                check_dtype=False,
            )
