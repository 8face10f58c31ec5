"""Interactions: reviews as a user × item matrix, and the time-based split used to judge models.

Implicit feedback: a review says the user chose the item, whatever its rating. The split is the
one a deployed recommender lives: train on every review up to the cutoff ``T``; test on what
each user reviewed after ``T``. The catalogue is every item reviewed up to ``T``; a test review
of an item released later cannot be recommended by any model and is left out (counted in
``unknown_items``), as are users first seen after ``T`` (cold start, counted in ``new_users``).

Example::

    split = split_by_time(reviews, "2024-10-01")
    split.train.matrix.shape, len(split.test)
    # ((980, 1410), 612)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # scipy is imported where it is used: it is slow to import
    from scipy import sparse

__all__ = ["Interactions", "TimeSplit", "split_by_time", "user_key"]


@dataclass(frozen=True)
class Interactions:
    """Who reviewed what: ``matrix[u, i] = 1`` (CSR, float32) for user ``users[u]``, item
    ``items[i]``."""

    users: np.ndarray
    items: np.ndarray
    matrix: sparse.csr_matrix
    user_index: dict[str, int] = field(repr=False)
    item_index: dict[str, int] = field(repr=False)

    @classmethod
    def from_reviews(cls, reviews: pd.DataFrame) -> Interactions:
        from scipy import sparse

        users, u = np.unique(reviews["user"].astype(str).to_numpy(), return_inverse=True)
        items, i = np.unique(reviews["item"].astype(str).to_numpy(), return_inverse=True)
        matrix = sparse.csr_matrix(
            (np.ones(len(u), dtype=np.float32), (u, i)), shape=(len(users), len(items))
        )
        matrix.data[:] = 1.0  # a user reviewing an item twice is still one choice
        return cls(
            users,
            items,
            matrix,
            {str(x): n for n, x in enumerate(users)},
            {str(x): n for n, x in enumerate(items)},
        )

    def seen(self, user: int) -> np.ndarray:
        """The item indices user ``user`` has reviewed."""
        return self.matrix.indices[self.matrix.indptr[user] : self.matrix.indptr[user + 1]]


@dataclass(frozen=True)
class TimeSplit:
    cutoff: pd.Timestamp
    train: Interactions
    test: dict[int, set[int]]  # user index → item indices reviewed after the cutoff
    new_users: int  # users first seen after the cutoff (not judged here: cold start)
    unknown_items: int  # test reviews of items not in the catalogue at the cutoff


def split_by_time(reviews: pd.DataFrame, cutoff: str | pd.Timestamp) -> TimeSplit:
    """Train on reviews up to ``cutoff``, test on each known user's reviews after it."""
    when = pd.Timestamp(cutoff)
    if when.tzinfo is None:
        when = when.tz_localize("UTC")
    stamps = pd.to_datetime(reviews["timestamp"], utc=True)
    before = reviews[stamps <= when]
    after = reviews[stamps > when]
    if before.empty or after.empty:
        raise ValueError(f"the cutoff {when} leaves no reviews on one side")
    train = Interactions.from_reviews(before)
    u = after["user"].astype(str).map(train.user_index)
    i = after["item"].astype(str).map(train.item_index)
    known = u.notna() & i.notna()
    test: dict[int, set[int]] = {}
    for user, item in zip(u[known].astype(int), i[known].astype(int), strict=True):
        test.setdefault(int(user), set()).add(int(item))
    # what the user had reviewed before is not a test target (it is excluded from rankings)
    for user in list(test):
        test[user] -= set(train.seen(user).tolist())
        if not test[user]:
            del test[user]
    return TimeSplit(
        when,
        train,
        test,
        new_users=int(after.loc[u.isna(), "user"].nunique()),
        unknown_items=int((u.notna() & i.isna()).sum()),
    )


def user_key(user: str) -> float:
    """A user id as a number a model signature carries (serving signatures are numeric): 52
    bits of its BLAKE2b hash, exact in a double."""
    digest = hashlib.blake2b(str(user).encode(), digest_size=8).digest()
    return float(int.from_bytes(digest, "big") >> 12)
