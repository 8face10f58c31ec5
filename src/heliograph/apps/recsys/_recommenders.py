"""Recommenders: score every catalogue item for a user, from implicit feedback.

- :class:`Popularity`: the number of users who reviewed each item (the baseline to beat);
- :class:`EASE`: Steck's embarrassingly shallow autoencoder (WWW 2019), a closed-form item-item
  model that is hard to beat on small data: ``B = I − P / diag(P)``, ``P = (XᵀX + λI)⁻¹``;
- :class:`ALS`: matrix factorisation by alternating least squares (``implicit``, Hu, Koren and
  Volinsky 2008), which gives user and item embeddings for the nearest-neighbour index.

Each is fitted on the CSR matrix of :class:`~heliograph.apps.recsys.Interactions` and answers
``scores(users)``: one row of catalogue scores per user index. ``top_k`` ranks them, leaving
out what each user already reviewed.

Example::

    model = EASE(regularization=200.0).fit(train.matrix)
    top_k(model.scores([0, 1]), train.matrix[[0, 1]], k=10)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:  # scipy is imported where it is used: it is slow to import
    from scipy import sparse

__all__ = ["ALS", "EASE", "Popularity", "Recommender", "top_k"]


class Recommender(Protocol):
    name: str

    def fit(self, matrix: sparse.csr_matrix) -> Recommender: ...

    def scores(self, users: Sequence[int] | np.ndarray) -> np.ndarray: ...


def _csr(matrix: sparse.spmatrix) -> sparse.csr_matrix:
    from scipy import sparse

    out = sparse.csr_matrix(matrix, dtype=np.float32)
    if out.shape[0] == 0 or out.shape[1] == 0:
        raise ValueError("cannot fit a recommender on an empty matrix")
    return out


@dataclass
class Popularity:
    """Items ranked by how many users reviewed them, the same list for everyone."""

    name: str = "popularity"
    counts: np.ndarray | None = field(default=None, repr=False)

    def fit(self, matrix: sparse.csr_matrix) -> Popularity:
        self.counts = np.asarray(_csr(matrix).sum(axis=0), dtype=np.float32).ravel()
        return self

    def scores(self, users: Sequence[int] | np.ndarray) -> np.ndarray:
        assert self.counts is not None, "fit first"
        return np.tile(self.counts, (len(users), 1))


@dataclass
class EASE:
    """Item-item weights in closed form; ``max_items`` bounds the dense ``n × n`` solve.

    With more items than ``max_items``, only the most reviewed are modelled (the rest score
    below every modelled item, ordered by popularity).
    """

    regularization: float = 200.0
    max_items: int = 6_000
    name: str = "ease"
    _weights: np.ndarray | None = field(default=None, repr=False)
    _kept: np.ndarray | None = field(default=None, repr=False)
    _matrix: sparse.csr_matrix | None = field(default=None, repr=False)
    _fallback: np.ndarray | None = field(default=None, repr=False)

    def fit(self, matrix: sparse.csr_matrix) -> EASE:
        x = _csr(matrix)
        counts = np.asarray(x.sum(axis=0)).ravel()
        kept = np.sort(np.argsort(-counts, kind="stable")[: self.max_items])
        xk = x[:, kept]
        gram = (xk.T @ xk).toarray().astype(np.float64)
        gram[np.diag_indices_from(gram)] += self.regularization
        p = np.linalg.inv(gram)
        weights = -p / np.diag(p)
        weights[np.diag_indices_from(weights)] = 0.0
        self._weights, self._kept, self._matrix = weights.astype(np.float32), kept, x
        # items not modelled rank below all modelled ones, by popularity
        self._fallback = (counts / (counts.max() + 1.0) - 2.0).astype(np.float32)
        return self

    def scores(self, users: Sequence[int] | np.ndarray) -> np.ndarray:
        assert self._weights is not None and self._matrix is not None, "fit first"
        assert self._kept is not None and self._fallback is not None
        rows = self._matrix[np.asarray(users, dtype=int)][:, self._kept]
        out = np.tile(self._fallback, (rows.shape[0], 1))
        out[:, self._kept] = np.asarray(rows @ self._weights)
        return out


@dataclass
class ALS:
    """Implicit ALS: ``user_factors @ item_factors.T`` scores, one thread by default."""

    factors: int = 64
    regularization: float = 0.05
    alpha: float = 20.0
    iterations: int = 15
    threads: int = 1
    seed: int = 7
    name: str = "als"
    user_factors: np.ndarray | None = field(default=None, repr=False)
    item_factors: np.ndarray | None = field(default=None, repr=False)

    def fit(self, matrix: sparse.csr_matrix) -> ALS:
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        x = _csr(matrix)
        with threadpool_limits(1, "blas"):  # implicit's own threads do the work
            model: Any = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=self.iterations,
                num_threads=self.threads,
                random_state=self.seed,
            )
            model.fit(x, show_progress=False)
        self.user_factors = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.asarray(model.item_factors, dtype=np.float32)
        return self

    def scores(self, users: Sequence[int] | np.ndarray) -> np.ndarray:
        assert self.user_factors is not None and self.item_factors is not None, "fit first"
        return self.user_factors[np.asarray(users, dtype=int)] @ self.item_factors.T


def top_k(scores: np.ndarray, seen: sparse.csr_matrix | None, k: int = 10) -> np.ndarray:
    """The ``k`` best item indices per row of ``scores``, best first, never a ``seen`` item."""
    from scipy import sparse

    s = np.array(scores, dtype=np.float32, copy=True)
    if seen is not None:
        rows, cols = sparse.csr_matrix(seen).nonzero()
        s[rows, cols] = -np.inf
    k = min(k, s.shape[1])
    part = np.argpartition(-s, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(s, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)
