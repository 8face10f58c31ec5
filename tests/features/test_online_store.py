"""The online store: features as of T from materialised states equal ``compute_offline``'s from
the lake, on SQLite and on the local Redis; what it cannot vouch for comes from the lake, and
says so; a failed materialisation is visible."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from heliograph.apps.energy import ONLINE_PRICE_FEATURES, PriceFeatures
from heliograph.core import ConfigError, FixedClock, Project
from heliograph.features import (
    OnlineStore,
    RedisBackend,
    SQLiteBackend,
    compute_offline,
    freshness,
    input_times,
    materialize_view,
    open_backend,
)
from heliograph.jobs import ingest, run_job
from heliograph.lake import open_lake
from tests.conftest import energy_project

NOW = datetime(2025, 2, 20, 12, 17, tzinfo=UTC)
RETENTION = timedelta(days=2)
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return energy_project(
        tmp_path_factory.mktemp("online"), ("GB", "DE"), start="2025-02-05", now=NOW
    )


def redis_available() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping()
    except (redis.RedisError, OSError) as exc:
        return f"no Redis at 127.0.0.1:6379 ({exc})"
    return None


@pytest.fixture(params=["sqlite", "redis"])
def store(
    request: pytest.FixtureRequest, project: Project, tmp_path: Path
) -> Iterator[OnlineStore]:
    prefix = f"helio-test:{uuid.uuid4().hex[:12]}:"
    if request.param == "redis":
        missing = redis_available()
        if missing:
            if os.environ.get("CI"):
                pytest.fail(f"{missing}: CI must test the Redis backend, not skip it")
            pytest.skip(missing)
        backend: Any = RedisBackend(REDIS_URL)
    else:
        backend = SQLiteBackend(tmp_path / "online.db")
    store = OnlineStore(
        backend, open_lake(project), prefix=prefix, retention=RETENTION, lake_check_seconds=0
    )
    yield store
    store.clear(ONLINE_PRICE_FEATURES)
    assert backend.keys(prefix) == []  # nothing left behind
    store.close()


def service_requests(market: str, as_of: datetime, hours: int) -> pd.DataFrame:
    """The requests the price service makes: every half hour after as_of within the horizon."""
    step = pd.Timedelta(minutes=30)
    first = pd.Timestamp(as_of).floor(step) + step
    stamps = pd.date_range(first, periods=int(pd.Timedelta(hours=hours) / step), freq=step)
    requests = pd.DataFrame({"market": market, "timestamp": stamps, "as_of": pd.Timestamp(as_of)})
    requests["timestamp"] = requests["timestamp"].astype("datetime64[us, UTC]")
    requests["as_of"] = requests["as_of"].astype("datetime64[us, UTC]")
    return requests


AS_OF = [
    (NOW, "online"),  # now
    (NOW - timedelta(hours=1, minutes=17), "online"),  # after today's auction, before now
    (datetime(2025, 2, 19, 11, 0, tzinfo=UTC), "online"),  # exactly at a publication
    (NOW - timedelta(days=1, hours=5, minutes=3), "online"),  # yesterday, in the retention
    (NOW - RETENTION + timedelta(minutes=1), "online"),  # just inside it
    (NOW - timedelta(days=6, minutes=41), "lake"),  # before it
]


def test_offline_equals_online_within_and_before_the_retention(
    store: OnlineStore, project: Project
) -> None:
    lake = open_lake(project)
    outcome = materialize_view(store, ONLINE_PRICE_FEATURES, now=NOW)
    assert outcome.full and outcome.computed > 0
    times = input_times(lake, PriceFeatures(), on="market")
    for market in ("GB", "DE"):
        for as_of, source in AS_OF:
            for hours in (1, 48) if market == "GB" else (48,):
                got = store.features(
                    ONLINE_PRICE_FEATURES, market, as_of, horizon=timedelta(hours=hours)
                )
                assert got.source == source, (as_of, got.reason)
                expected = compute_offline(
                    lake, PriceFeatures(), service_requests(market, as_of, hours)
                )
                pd.testing.assert_frame_equal(got.rows, expected)
                offline = freshness(times, {"market": market}, as_of)
                assert got.freshness.newest == offline.newest
                assert got.freshness.first == offline.first
                if source == "lake":
                    assert "retention" in got.reason and got.state is None
                else:
                    assert got.reason == "" and got.state is not None
    # The same inputs known, the same state: the key under which an answer can be remembered.
    view, hours = ONLINE_PRICE_FEATURES, timedelta(hours=24)
    a = store.features(view, "GB", NOW - timedelta(minutes=10), horizon=hours)
    b = store.features(view, "GB", NOW, horizon=hours)
    c = store.features(view, "GB", NOW - timedelta(days=1), horizon=hours)
    assert a.state == b.state != c.state


def test_new_partitions_are_served_from_the_lake_until_materialised(
    tmp_path: Path,
) -> None:
    project = energy_project(tmp_path, ("GB",), start="2025-02-10", now=NOW)
    store = OnlineStore(
        SQLiteBackend(tmp_path / "online.db"),
        open_lake(project),
        retention=timedelta(days=1),
        lake_check_seconds=0,
    )
    view, day = ONLINE_PRICE_FEATURES, timedelta(hours=24)
    materialize_view(store, view, now=NOW)
    later = NOW + timedelta(days=1)
    ingest(project.with_clock(FixedClock(later)))  # a day's auction and forecasts published
    assert store.status(view).behind and not store.status(view).ready
    got = store.features(view, "GB", later, horizon=day)
    assert got.source == "lake" and "published" in got.reason
    lake = open_lake(project)
    pd.testing.assert_frame_equal(
        got.rows, compute_offline(lake, PriceFeatures(), service_requests("GB", later, 24))
    )
    outcome = materialize_view(store, view, now=later)
    assert not outcome.full and outcome.kept > 0  # incremental: old states kept
    assert store.status(view).ready
    for as_of in (later, NOW + timedelta(hours=3)):
        got = store.features(view, "GB", as_of, horizon=day)
        assert got.source == "online"
        expected = compute_offline(lake, PriceFeatures(), service_requests("GB", as_of, 24))
        pd.testing.assert_frame_equal(got.rows, expected)


class Broken(PriceFeatures):
    def compute(self, data: Any, requests: pd.DataFrame) -> pd.DataFrame:
        raise RuntimeError("the view broke")


def test_a_failed_materialisation_is_visible(tmp_path: Path) -> None:
    project = energy_project(tmp_path, ("GB",), start="2025-02-13", now=NOW)
    store = OnlineStore(
        SQLiteBackend(tmp_path / "online.db"), open_lake(project), retention=timedelta(days=1)
    )
    view = ONLINE_PRICE_FEATURES
    assert store.status(view).state == "never"
    materialize_view(store, view, now=NOW)
    later = NOW + timedelta(days=1)
    ingest(project.with_clock(FixedClock(later)))
    with pytest.raises(RuntimeError, match="the view broke"):
        materialize_view(store, replace(view, view=Broken()), now=later)
    status = store.status(view)
    assert status.state == "failed" and "the view broke" in status.error
    assert status.behind and not status.ready
    got = store.features(view, "GB", later, horizon=timedelta(hours=6))
    assert got.source == "lake" and got.status.state == "failed"  # correct, and says so


def test_ingest_materialises_into_the_configured_store(tmp_path: Path) -> None:
    project = energy_project(tmp_path, ("GB",), start="2025-02-13", now=NOW)
    assert project.settings.online_store.backend == "sqlite"  # the default
    assert (project.state_dir / "online.db").is_file()  # ingest materialised the view
    (outcome,) = run_job(project, "materialize")  # nothing new published since
    assert outcome.view == ONLINE_PRICE_FEATURES.ref and outcome.computed == 0
    assert not outcome.full and outcome.kept > 0
    store = OnlineStore.open(project)
    try:
        assert store.status(ONLINE_PRICE_FEATURES).ready
        got = store.features(ONLINE_PRICE_FEATURES, "GB", NOW, horizon=timedelta(hours=2))
        assert got.source == "online" and len(got.rows) == 4
    finally:
        store.close()


def test_a_redis_store_needs_a_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        open_backend("redis", "", tmp_path)
    assert caught.value.field == "online_store.url"


def test_every_question_within_the_retention_is_answered_online(project: Project) -> None:
    """As the gateway is asked: an as_of anywhere in the retention (on and off the half hour,
    at its very start) and any horizon up to the view's: all from the store, and (a sample)
    equal to the lake's rows; only an as_of before the retention goes to the lake."""
    lake = open_lake(project)
    store = OnlineStore(
        SQLiteBackend(project.state_dir / "sweep.db"), lake, retention=RETENTION,
        lake_check_seconds=60,
    )  # fmt: skip
    view = ONLINE_PRICE_FEATURES
    materialize_view(store, view, now=NOW)
    moments = [NOW - RETENTION + timedelta(minutes=37 * i) for i in range(0, 78)] + [
        NOW - RETENTION,
        NOW,
    ]
    sources = set()
    for i, as_of in enumerate(moments):
        hours = (1, 7, 23, 48)[i % 4]
        got = store.features(view, "GB", as_of, horizon=timedelta(hours=hours))
        sources.add((got.source, got.reason))
        if i % 13 == 0:
            expected = compute_offline(lake, PriceFeatures(), service_requests("GB", as_of, hours))
            pd.testing.assert_frame_equal(got.rows, expected)
    assert sources == {("online", "")}
    before = store.features(view, "GB", NOW - RETENTION - timedelta(days=3), horizon=timedelta(1))
    assert before.source == "lake" and "retention" in before.reason
    store.close()
