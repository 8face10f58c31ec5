"""The recommenders, judged as the benchmark judges them: time split, whole catalogue."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from heliograph.apps.recsys import (
    ALS,
    EASE,
    Catalogue,
    Popularity,
    category_vectors,
    evaluate,
    recommend_lists,
    split_by_time,
    top_k,
)


@pytest.fixture(scope="module")
def split(small_year: dict[str, pd.DataFrame]):  # type: ignore[no-untyped-def]
    return split_by_time(small_year["recsys_reviews"], "2024-04-01")


def test_the_split_trains_on_the_past_and_tests_on_new_items(split) -> None:  # type: ignore[no-untyped-def]
    assert split.train.matrix.shape == (len(split.train.users), len(split.train.items))
    for user, items in list(split.test.items())[:50]:
        assert not items & set(split.train.seen(user).tolist())
    assert split.new_users > 0  # users who arrived after the cutoff are cold start


def test_top_k_never_returns_a_reviewed_item() -> None:
    scores = np.array([[5.0, 4.0, 3.0, 2.0]])
    seen = np.array([[1, 0, 1, 0]])
    from scipy import sparse

    assert top_k(scores, sparse.csr_matrix(seen), k=2).tolist() == [[1, 3]]


def test_ease_and_als_beat_popularity_twice_over(split, small_year) -> None:  # type: ignore[no-untyped-def]
    catalogue = Catalogue.as_of(
        small_year["recsys_items"], small_year["recsys_reviews"], split.cutoff
    )
    vectors = category_vectors(split.train.items, catalogue.category)
    pop = evaluate(Popularity().fit(split.train.matrix), split, vectors)
    ease = evaluate(EASE(regularization=100.0).fit(split.train.matrix), split, vectors)
    als = evaluate(ALS(factors=32, iterations=10).fit(split.train.matrix), split, vectors)
    for model in (ease, als):
        assert model["hr@10"] >= 2 * pop["hr@10"], (model, pop)
        assert model["ndcg@10"] >= 2 * pop["ndcg@10"], (model, pop)
        assert model["coverage"] > pop["coverage"]  # not the same ten items for everyone


def test_als_gives_user_and_item_embeddings(split) -> None:  # type: ignore[no-untyped-def]
    als = ALS(factors=16, iterations=5).fit(split.train.matrix)
    assert als.user_factors.shape == (len(split.train.users), 16)
    assert als.item_factors.shape == (len(split.train.items), 16)
    lists = recommend_lists(als, split, k=10)
    assert all(len(v) == 10 for v in lists.values())


def test_an_empty_matrix_is_refused() -> None:
    from scipy import sparse

    with pytest.raises(ValueError, match="empty"):
        EASE().fit(sparse.csr_matrix((0, 0)))
