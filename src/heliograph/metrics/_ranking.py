"""Ranking metrics: pure functions over recommended lists and what each user really chose.

A *list* is the ranked item indices recommended to one user (best first); *relevant* is the set
of items that user went on to choose. Items are integer indices into the catalogue.

>>> lists = [[3, 1, 2], [0, 4, 5]]
>>> relevant = [{2}, {9}]
>>> hit_rate_at_k(lists, relevant, 3), round(ndcg_at_k(lists, relevant, 3), 3)
(0.5, 0.25)
>>> catalogue_coverage(lists, catalogue_size=10, k=3)
0.6
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

__all__ = ["catalogue_coverage", "hit_rate_at_k", "intra_list_diversity", "ndcg_at_k"]


_Lists = Sequence[Sequence[int] | np.ndarray]  # top-k item lists, one per user


def _check(lists: _Lists, relevant: Sequence[Collection[int]], k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    if len(lists) != len(relevant):
        raise ValueError(f"{len(lists)} lists but {len(relevant)} sets of relevant items")


def hit_rate_at_k(lists: _Lists, relevant: Sequence[Collection[int]], k: int = 10) -> float:
    """The share of users with at least one relevant item in their top ``k`` (HR@k)."""
    _check(lists, relevant, k)
    if not lists:
        return float("nan")
    hits = [
        any(int(i) in rel for i in list(items)[:k])
        for items, rel in zip(lists, relevant, strict=True)
    ]
    return float(np.mean(hits))


def ndcg_at_k(lists: _Lists, relevant: Sequence[Collection[int]], k: int = 10) -> float:
    """Mean normalised discounted cumulative gain at ``k``, binary relevance.

    A user's ideal list puts ``min(len(relevant), k)`` relevant items first; a user with no
    relevant item is an error (they cannot be judged), not a zero.
    """
    _check(lists, relevant, k)
    if not lists:
        return float("nan")
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    scores = []
    for items, rel in zip(lists, relevant, strict=True):
        if not rel:
            raise ValueError("a user with no relevant item cannot be judged by NDCG")
        gains = np.array([int(i) in rel for i in list(items)[:k]], dtype=float)
        dcg = float(gains @ discounts[: len(gains)])
        ideal = float(discounts[: min(len(rel), k)].sum())
        scores.append(dcg / ideal)
    return float(np.mean(scores))


def catalogue_coverage(lists: _Lists, catalogue_size: int, k: int = 10) -> float:
    """The share of the catalogue that appears in at least one top-``k`` list."""
    if catalogue_size < 1:
        raise ValueError(f"catalogue_size must be at least 1, not {catalogue_size}")
    shown = {int(i) for items in lists for i in list(items)[:k]}
    return len(shown) / catalogue_size


def intra_list_diversity(lists: _Lists, item_vectors: np.ndarray, k: int = 10) -> float:
    """Mean pairwise dissimilarity (1 − cosine) of the items within each top-``k`` list.

    With one-hot category vectors this is the share of pairs from different categories; with
    embeddings it is their mean cosine distance. Lists of fewer than two items are left out.
    """
    vectors = np.asarray(item_vectors, dtype=float)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    values = []
    for items in lists:
        idx = np.asarray(list(items)[:k], dtype=int)
        n = len(idx)
        if n < 2:
            continue
        sims = unit[idx] @ unit[idx].T
        mean_sim = (sims.sum() - np.trace(sims)) / (n * (n - 1))
        values.append(1.0 - mean_sim)
    return float(np.mean(values)) if values else float("nan")
