"""Ranking metrics (heliograph.metrics), on cases worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from heliograph.metrics import catalogue_coverage, hit_rate_at_k, intra_list_diversity, ndcg_at_k


def test_hit_rate_counts_users_with_a_hit_in_the_top_k() -> None:
    lists = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    relevant = [{3}, {9, 4}, {0}]
    assert hit_rate_at_k(lists, relevant, k=3) == pytest.approx(2 / 3)
    assert hit_rate_at_k(lists, relevant, k=2) == pytest.approx(1 / 3)  # 3 is third


def test_ndcg_discounts_by_rank_and_normalises_by_the_ideal_list() -> None:
    assert ndcg_at_k([[5, 1]], [{5}], k=2) == 1.0
    assert ndcg_at_k([[1, 5]], [{5}], k=2) == pytest.approx(1 / math.log2(3))
    # two relevant, one found first: DCG 1, ideal 1 + 1/log2(3)
    assert ndcg_at_k([[5, 1]], [{5, 6}], k=2) == pytest.approx(1 / (1 + 1 / math.log2(3)))
    with pytest.raises(ValueError, match="no relevant"):
        ndcg_at_k([[1]], [set()], k=1)


def test_coverage_is_the_share_of_the_catalogue_shown() -> None:
    assert catalogue_coverage([[0, 1], [1, 2]], catalogue_size=8, k=2) == 3 / 8
    assert catalogue_coverage([[0, 1], [1, 2]], catalogue_size=8, k=1) == 2 / 8


def test_diversity_with_category_vectors_is_the_share_of_mixed_pairs() -> None:
    onehot = np.array([[1, 0], [1, 0], [0, 1]], dtype=float)  # items 0, 1 in A; 2 in B
    assert intra_list_diversity([[0, 1]], onehot) == 0.0
    assert intra_list_diversity([[0, 2]], onehot) == 1.0
    assert intra_list_diversity([[0, 1, 2]], onehot) == pytest.approx(2 / 3)


def test_mismatched_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="2 lists but 1"):
        hit_rate_at_k([[1], [2]], [{1}], k=1)
    with pytest.raises(ValueError, match="k must be"):
        ndcg_at_k([[1]], [{1}], k=0)
