"""The HNSW item index: near-exact recall, saved and loaded as one artefact folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from heliograph.apps.recsys import ItemIndex, exact_top_k, recall_at_k
from heliograph.core import DataError


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.normal(size=(2_000, 32)).astype(np.float32)


def test_recall_at_10_against_exact_search_is_high(vectors: np.ndarray) -> None:
    index = ItemIndex.build(vectors)
    queries = np.random.default_rng(1).normal(size=(200, 32)).astype(np.float32)
    assert recall_at_k(index, queries, vectors, 10) >= 0.95


def test_a_saved_index_answers_the_same_after_loading(vectors: np.ndarray, tmp_path: Path) -> None:
    items = np.array([f"i{n:05d}" for n in range(len(vectors))])
    index = ItemIndex.build(vectors, items=items)
    index.save(tmp_path / "ann")
    loaded = ItemIndex.load(tmp_path / "ann")
    query = vectors[7] + 0.01
    assert loaded.query(query, 10)[0].tolist() == index.query(query, 10)[0].tolist()
    assert (
        loaded.items[index.query(query, 1)[0][0]]
        == items[exact_top_k(query[None], vectors, 1)[0][0]]
    )


def test_loading_a_folder_without_an_index_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no item index"):
        ItemIndex.load(tmp_path)
