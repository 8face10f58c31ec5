"""An approximate nearest-neighbour index over item embeddings (hnswlib's HNSW graphs).

Built from a model's item vectors, it answers "the items nearest to this vector" by inner
product (the ALS score) in microseconds, and is saved as one artefact folder: ``index.bin``
(hnswlib's own file) and ``index.json`` (the space, the dimension, the parameters, the item ids
in index order). ``recall_at_k`` measures it against exact search.

Example::

    index = ItemIndex.build(model.item_factors, items=split.train.items)
    index.save(path); ItemIndex.load(path).query(model.user_factors[0], k=10)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from heliograph.core import DataError

__all__ = ["ItemIndex", "exact_top_k", "recall_at_k"]


@dataclass
class ItemIndex:
    """HNSW index of item vectors; ``items`` are the ids in index order."""

    index: Any
    items: np.ndarray
    space: str
    dim: int
    ef: int
    m: int
    ef_construction: int

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        *,
        items: np.ndarray | None = None,
        space: str = "ip",
        m: int = 16,
        ef_construction: int = 200,
        ef: int = 100,
        seed: int = 7,
    ) -> ItemIndex:
        import hnswlib

        data = np.ascontiguousarray(vectors, dtype=np.float32)
        if data.ndim != 2 or len(data) == 0:
            raise ValueError("vectors must be a non-empty 2-D array")
        index = hnswlib.Index(space=space, dim=data.shape[1])
        index.init_index(
            max_elements=len(data), ef_construction=ef_construction, M=m, random_seed=seed
        )
        index.set_num_threads(1)
        index.add_items(data, np.arange(len(data)))
        index.set_ef(ef)
        ids = np.asarray(items if items is not None else np.arange(len(data)).astype(str))
        return cls(index, ids, space, data.shape[1], ef, m, ef_construction)

    def query(self, vector: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """(item indices, scores) of the ``k`` nearest items, best first; score = −distance
        for ``ip`` (so the inner product), −distance otherwise."""
        k = min(k, len(self.items))
        self.index.set_ef(max(self.ef, k))
        labels, distances = self.index.knn_query(np.asarray(vector, dtype=np.float32), k=k)
        if self.space == "ip":
            return labels[0].astype(int), 1.0 - distances[0]
        return labels[0].astype(int), -distances[0]

    def query_many(self, vectors: np.ndarray, k: int = 10) -> np.ndarray:
        k = min(k, len(self.items))
        self.index.set_ef(max(self.ef, k))
        labels, _ = self.index.knn_query(np.asarray(vectors, dtype=np.float32), k=k)
        return labels.astype(int)

    def save(self, folder: Path | str) -> Path:
        """Write ``index.bin`` and ``index.json`` into ``folder`` (each replaced atomically)."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        tmp = out / ".index.bin.tmp"
        self.index.save_index(str(tmp))
        os.replace(tmp, out / "index.bin")
        meta = {
            "space": self.space,
            "dim": self.dim,
            "ef": self.ef,
            "m": self.m,
            "ef_construction": self.ef_construction,
            "items": [str(i) for i in self.items],
        }
        (out / ".index.json.tmp").write_text(json.dumps(meta))
        os.replace(out / ".index.json.tmp", out / "index.json")
        return out

    @classmethod
    def load(cls, folder: Path | str) -> ItemIndex:
        import hnswlib

        where = Path(folder)
        meta_path, bin_path = where / "index.json", where / "index.bin"
        if not meta_path.is_file() or not bin_path.is_file():
            raise DataError(
                f"no item index in {where}",
                file=str(where),
                rule="a folder with index.bin and index.json (ItemIndex.save)",
            )
        meta = json.loads(meta_path.read_text())
        index = hnswlib.Index(space=meta["space"], dim=int(meta["dim"]))
        index.load_index(str(bin_path), max_elements=len(meta["items"]))
        index.set_num_threads(1)
        index.set_ef(int(meta["ef"]))
        return cls(
            index,
            np.asarray(meta["items"]),
            meta["space"],
            int(meta["dim"]),
            int(meta["ef"]),
            int(meta["m"]),
            int(meta["ef_construction"]),
        )


def exact_top_k(queries: np.ndarray, vectors: np.ndarray, k: int = 10) -> np.ndarray:
    """The exact ``k`` best items by inner product, per query row (brute force)."""
    scores = np.asarray(queries, dtype=np.float32) @ np.asarray(vectors, dtype=np.float32).T
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1)
    return np.take_along_axis(part, order, axis=1)


def recall_at_k(index: ItemIndex, queries: np.ndarray, vectors: np.ndarray, k: int = 10) -> float:
    """The share of the exact top ``k`` that the index also returns, over ``queries``."""
    exact = exact_top_k(queries, vectors, k)
    approx = index.query_many(queries, k)
    found = [len(set(a.tolist()) & set(e.tolist())) for a, e in zip(approx, exact, strict=True)]
    return float(np.sum(found) / exact.size)
