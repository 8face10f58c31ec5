"""The review simulator, and its release into the lake day by day through a replayed source."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from heliograph.apps.recsys import make_simulator_source, simulate
from heliograph.core import ConfigError, FixedClock
from heliograph.lake import Lake, make_source

from .conftest import items_dataset, reviews_dataset


def test_same_seed_same_stream_other_seed_other_stream() -> None:
    a = simulate("2024-01-01", "2024-01-20", seed=3, users=50, items=60)
    b = simulate("2024-01-01", "2024-01-20", seed=3, users=50, items=60)
    c = simulate("2024-01-01", "2024-01-20", seed=4, users=50, items=60)
    pd.testing.assert_frame_equal(a["recsys_reviews"], b["recsys_reviews"])
    assert not a["recsys_reviews"].equals(c["recsys_reviews"])


def test_the_stream_has_the_shape_of_a_shop(small_year: dict[str, pd.DataFrame]) -> None:
    reviews, items = small_year["recsys_reviews"], small_year["recsys_items"]
    assert not reviews.duplicated(["user", "item"]).any()  # nobody reviews an item twice
    assert reviews["rating"].between(1, 5).all()
    # power-law popularity: the top 10% of items take far more than 10% of reviews
    counts = reviews["item"].value_counts().to_numpy()
    assert counts[: len(counts) // 10].sum() > 0.3 * counts.sum()
    # new users and items keep arriving, and an item is reviewed only once released
    first_day = reviews["timestamp"].min().normalize()
    late_users = reviews.groupby("user")["timestamp"].min() > first_day + pd.Timedelta(days=60)
    assert late_users.sum() > 50
    released = items.groupby("item")["timestamp"].min()
    when = reviews["timestamp"].dt.normalize()
    assert (when >= reviews["item"].map(released)).all()
    assert (items["timestamp"] > first_day).sum() > 100
    assert (~items["available"]).any()  # some items are withdrawn later
    # tastes: a user's reviews concentrate in a few categories
    category = items.drop_duplicates("item").set_index("item")["category"]
    per_user = reviews.assign(c=reviews["item"].map(category)).groupby("user")["c"]
    share = per_user.agg(lambda c: c.value_counts(normalize=True).iloc[:3].sum())
    assert share[per_user.size() >= 10].median() > 0.7


def test_seasonal_bursts_lift_a_category_for_weeks() -> None:
    data = simulate(
        "2024-01-01",
        "2024-12-31",
        seed=5,
        users=100,
        items=100,
        new_items_per_day=0.3,
        reviews_per_day=30,
    )
    reviews, items = data["recsys_reviews"], data["recsys_items"]
    category = items.drop_duplicates("item").set_index("item")["category"]
    weekly = (
        reviews.assign(
            c=reviews["item"].map(category), w=reviews["timestamp"].dt.isocalendar().week
        )
        .groupby(["w", "c"])
        .size()
        .unstack(fill_value=0)
    )
    share = weekly.div(weekly.sum(axis=1), axis=0)
    assert (share.max() / share.median()).max() > 2.0


def test_reviews_reach_the_lake_day_by_day_with_checks_on_every_partition(tmp_path: Path) -> None:
    options = {"start": "2024-01-01", "end": "2024-01-10", "users": 60, "items": 80, "seed": 2}
    source = make_source("reviews", "recsys-simulator", options, base=tmp_path, state_dir=tmp_path)
    clock = FixedClock(datetime(2024, 1, 3, 0, 30, tzinfo=UTC))
    lake = Lake(tmp_path / "lake", [reviews_dataset(), items_dataset()], clock=clock)
    for day in (3, 5):
        now = datetime(2024, 1, day, 0, 30, tzinfo=UTC)
        for batch in source.batches(now):
            result = lake.ingest(batch.dataset, batch.frame, origin=batch.origin)
            assert result.ok, result.summary()
            batch.done()
        dates = [p.date for p in lake.partitions("recsys_reviews")]
        assert dates[-1] == f"2024-01-{day - 1:02d}"  # yesterday's reviews are known, not today's
    log = [e for e in lake.check_log("recsys_reviews") if e["status"] == "passed"]
    assert {e["partition"] for e in log} == {f"date=2024-01-0{d}" for d in (1, 2, 3, 4)}
    labels = {r["check"] for r in log[0]["results"]}
    assert {"not_null(user)", "not_null(item)", "between(rating, 0.5, 5)"} <= labels
    assert any(label.startswith("row_count") for label in labels)


def test_a_bad_review_day_is_quarantined_not_published(tmp_path: Path) -> None:
    data = simulate("2024-01-01", "2024-01-03", seed=2, users=30, items=30)
    reviews = data["recsys_reviews"].copy()
    reviews.loc[reviews["timestamp"].dt.day == 2, "rating"] = 7.0
    clock = FixedClock(datetime(2024, 1, 5, tzinfo=UTC))
    lake = Lake(tmp_path / "lake", [reviews_dataset()], clock=clock)
    result = lake.ingest("recsys_reviews", reviews, origin="test")
    assert [e.partition for e in result.quarantined] == ["date=2024-01-02"]
    assert "2024-01-02" not in [p.date for p in lake.partitions("recsys_reviews")]


def test_an_unknown_simulator_option_is_a_config_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        make_simulator_source("reviews", {"userz": 3}, tmp_path / "s.json")
    assert caught.value.field == "sources.reviews.options.userz"
    with pytest.raises(ConfigError):
        make_simulator_source("reviews", {"start": "2024-02-01", "end": "2024-01-01"}, tmp_path)


def test_ratings_follow_affinity() -> None:
    data = simulate("2024-01-01", "2024-02-15", seed=9, users=100, items=100)
    ratings = data["recsys_reviews"]["rating"].to_numpy()
    assert 2.5 < ratings.mean() < 4.5 and np.unique(ratings).size >= 4
