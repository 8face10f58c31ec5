"""Time-based evaluation of a recommender: the whole catalogue ranked, nothing sampled.

For every user known at the cutoff who reviewed something new after it, the model ranks
every catalogue item except those the user already reviewed; the top ``k`` is judged against
what they really reviewed next: HR@k, NDCG@k (``heliograph.metrics``), catalogue coverage, and
intra-list diversity over item categories (the share of pairs from different categories).

Example::

    evaluate(EASE().fit(split.train.matrix), split, categories)
    # {'hr@10': 0.31, 'ndcg@10': 0.14, 'coverage': 0.42, 'diversity': 0.71, 'users': 612}
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from heliograph.metrics import catalogue_coverage, hit_rate_at_k, intra_list_diversity, ndcg_at_k

from ._interactions import TimeSplit
from ._recommenders import Recommender, top_k

__all__ = ["category_vectors", "evaluate", "recommend_lists"]

_BATCH = 512


def category_vectors(items: np.ndarray, categories: Mapping[str, str]) -> np.ndarray:
    """One-hot category vectors for ``items`` (an item with no known category has its own)."""
    names = [categories.get(str(i)) for i in items]
    labels = sorted({n for n in names if n is not None})
    column = {c: n for n, c in enumerate(labels)}
    vectors = np.zeros((len(items), len(labels) + len(items)), dtype=np.float32)
    for row, name in enumerate(names):
        vectors[row, column[name] if name is not None else len(labels) + row] = 1.0
    return vectors


def recommend_lists(model: Recommender, split: TimeSplit, k: int = 10) -> dict[int, np.ndarray]:
    """The top ``k`` of every judged user (user index → item indices), seen items left out."""
    users = np.array(sorted(split.test), dtype=int)
    out: dict[int, np.ndarray] = {}
    for start in range(0, len(users), _BATCH):
        chunk = users[start : start + _BATCH]
        ranked = top_k(model.scores(chunk), split.train.matrix[chunk], k)
        out.update(zip(chunk.tolist(), ranked, strict=True))
    return out


def evaluate(
    model: Recommender | None,
    split: TimeSplit,
    item_vectors: np.ndarray | None = None,
    *,
    k: int = 10,
    lists: Mapping[int, np.ndarray] | None = None,
) -> dict[str, float]:
    """HR@k, NDCG@k, coverage and diversity of ``model`` (or of ``lists``) on ``split``."""
    if not split.test:
        raise ValueError("no user reviewed a known item after the cutoff: nothing to judge")
    if lists is None:
        if model is None:
            raise ValueError("evaluate needs a model or the lists it recommended")
        lists = recommend_lists(model, split, k)
    users = sorted(split.test)
    ranked = [lists[u] for u in users]
    relevant = [split.test[u] for u in users]
    vectors = item_vectors if item_vectors is not None else np.eye(len(split.train.items))
    return {
        f"hr@{k}": hit_rate_at_k(ranked, relevant, k),
        f"ndcg@{k}": ndcg_at_k(ranked, relevant, k),
        "coverage": catalogue_coverage(ranked, len(split.train.items), k),
        "diversity": intra_list_diversity(ranked, vectors, k),
        "users": float(len(users)),
    }
