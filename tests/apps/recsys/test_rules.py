"""Business rules after retrieval: declared, applied in order, and named on every item."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from heliograph.apps.recsys import (
    ALS,
    Catalogue,
    ItemIndex,
    Retriever,
    Rules,
    UserHistory,
    apply_rules,
    split_by_time,
)
from heliograph.core import ConfigError
from heliograph.metrics import intra_list_diversity


def _catalogue() -> Catalogue:
    day = pd.Timestamp("2024-03-01", tz="UTC")
    items = pd.DataFrame(
        {
            "item": ["a1", "a2", "a3", "a4", "b1", "b2", "c1", "new", "gone", "gone"],
            "category": ["A"] * 4 + ["B"] * 2 + ["C", "A", "B", "B"],
            "available": [True] * 9 + [False],
            "timestamp": [day] * 7 + [day + pd.Timedelta(days=25), day, day + pd.Timedelta(days=5)],
        }
    )
    items["available_at"] = items["timestamp"]
    reviews = pd.DataFrame(
        {
            "user": ["x", "x", "y", "y", "y", "z"],
            "item": ["a1", "b1", "a2", "a2", "c1", "a1"],
            "timestamp": [day + pd.Timedelta(days=d) for d in (1, 2, 3, 20, 21, 22)],
        }
    )
    reviews["available_at"] = reviews["timestamp"]
    return Catalogue.as_of(items, reviews, day + pd.Timedelta(days=28))


CANDIDATES = [
    ("a1", 0.9),
    ("a2", 0.8),
    ("a3", 0.7),
    ("gone", 0.65),
    ("a4", 0.6),
    ("b1", 0.5),
    ("b2", 0.4),
    ("c1", 0.3),
]


def test_reviewed_unavailable_and_blocked_items_are_never_returned() -> None:
    catalogue = _catalogue()
    user = UserHistory("x", frozenset({"a1", "b1"}), ("B", "A"))
    rules = Rules.from_config({"blocklist": ["a3"]})
    out = apply_rules(CANDIDATES, k=10, rules=rules, user=user, catalogue=catalogue)
    assert [r.item for r in out] == ["a2", "a4", "b2", "c1"]
    assert all(r.rules == ("retrieval",) for r in out)


def test_at_most_n_per_category_and_the_items_it_brought_in_say_so() -> None:
    catalogue = _catalogue()
    user = UserHistory.empty("w")
    rules = Rules.from_config({"diversity": {"kind": "max_per_category", "n": 2}})
    out = apply_rules(CANDIDATES, k=4, rules=rules, user=user, catalogue=catalogue)
    assert [r.item for r in out] == ["a1", "a2", "b1", "b2"]
    assert out[0].rules == ("retrieval",)
    assert out[2].rules == ("retrieval", "diversity:max_per_category")
    onehot = {"A": [1, 0, 0], "B": [0, 1, 0], "C": [0, 0, 1]}
    ids = [i for i, _ in CANDIDATES]
    vectors = np.array([onehot[catalogue.category[i]] for i in ids], dtype=float)
    plain = apply_rules(CANDIDATES, k=4, rules=Rules(), user=user, catalogue=catalogue)
    index = {i: n for n, i in enumerate(ids)}
    measured = [
        intra_list_diversity([[index[r.item] for r in lst]], vectors) for lst in (plain, out)
    ]
    assert measured[1] > measured[0]


def test_mmr_reranks_the_nearest_toward_variety() -> None:
    catalogue = _catalogue()
    rules = Rules.from_config({"diversity": {"kind": "mmr", "lambda": 0.3}})
    out = apply_rules(
        CANDIDATES, k=3, rules=rules, user=UserHistory.empty("w"), catalogue=catalogue
    )
    assert out[0].item == "a1"
    assert {catalogue.category[r.item] for r in out} == {"A", "B", "C"}
    assert any("diversity:mmr" in r.rules for r in out)


def test_a_new_item_can_appear_in_its_slot() -> None:
    catalogue = _catalogue()
    user = UserHistory("y", frozenset({"a2", "c1"}), ("C", "A"))
    rules = Rules.from_config({"new_items": {"slots": 1, "max_age_days": 7}})
    out = apply_rules(CANDIDATES, k=4, rules=rules, user=user, catalogue=catalogue)
    assert out[-1].item == "new" and out[-1].rules == ("new_item",)
    assert [r.item for r in out[:3]] == ["a1", "a3", "a4"]


def test_a_declaration_error_names_the_field() -> None:
    with pytest.raises(ConfigError) as caught:
        Rules.from_config({"diversity": {"kind": "max_per_category", "n": 0}})
    assert caught.value.field.startswith("recsys.rules.diversity")
    with pytest.raises(ConfigError) as caught:
        Rules.from_config({"blocklst": ["a"]})
    assert caught.value.field == "recsys.rules.blocklst"


def test_cold_start_gives_popular_items_of_recent_categories(small_year) -> None:  # type: ignore[no-untyped-def]
    reviews, items = small_year["recsys_reviews"], small_year["recsys_items"]
    split = split_by_time(reviews, "2024-04-01")
    als = ALS(factors=16, iterations=5).fit(split.train.matrix)
    index = ItemIndex.build(als.item_factors, items=split.train.items)
    now = pd.Timestamp("2024-04-20", tz="UTC")
    catalogue = Catalogue.as_of(items, reviews, now)
    retriever = Retriever(als, index, split.train.users, catalogue, Rules())
    newcomer = next(u for u in reviews["user"].unique() if u not in split.train.user_index)
    history = UserHistory.as_of(reviews, newcomer, now, catalogue)
    if not history.recent_categories:  # pragma: no cover - the seed gives them reviews
        pytest.skip("the newcomer has no review before now")
    out = retriever.recommend(history, k=5)
    assert all(r.rules == ("cold_start:popular_in_recent_categories",) for r in out)
    assert {catalogue.category[r.item] for r in out} <= set(history.recent_categories)
    assert not {r.item for r in out} & history.reviewed
    stranger = retriever.recommend(UserHistory.empty("nobody"), k=5)
    assert [r.item for r in stranger] == catalogue.ranked[:5]
    known = retriever.recommend(
        UserHistory.as_of(reviews, str(split.train.users[0]), now, catalogue)
    )
    assert known and all(r.rules[0] == "retrieval" for r in known)
