"""Retrieval and rules together: the recommendations one user gets, in process.

A known user's vector queries the item index for the ``rules.candidates`` nearest items (plus
as many as they already reviewed, which the rules remove); a user the model does not know gets
the most popular items of their recent categories (cold start), or of the whole catalogue
when they have no history. The rules then shape the list.

Example::

    retriever = Retriever(als, index, split.train.users, catalogue, Rules())
    retriever.recommend(history, k=10)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._ann import ItemIndex
from ._catalogue import Catalogue, UserHistory
from ._recommenders import ALS
from ._rules import COLD_START, RETRIEVAL, Recommendation, Rules, apply_rules

__all__ = ["Retriever", "cold_start"]


@dataclass
class Retriever:
    """An ALS model's user vectors, its item index, the catalogue and the declared rules."""

    model: ALS
    index: ItemIndex
    users: np.ndarray
    catalogue: Catalogue
    rules: Rules
    _user_index: dict[str, int] = field(init=False, repr=False)
    _vectors: dict[str, np.ndarray] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        assert self.model.user_factors is not None and self.model.item_factors is not None
        self._user_index = {str(u): n for n, u in enumerate(self.users)}
        self._vectors = {str(i): self.model.item_factors[n] for n, i in enumerate(self.index.items)}

    def candidates(self, history: UserHistory) -> tuple[list[tuple[str, float]], str]:
        """(item, score) best first, and the rule that proposed them."""
        wanted = self.rules.candidates + len(history.reviewed)
        row = self._user_index.get(history.user)
        if row is not None:
            assert self.model.user_factors is not None
            labels, scores = self.index.query(self.model.user_factors[row], k=wanted)
            items = self.index.items[labels]
            return [(str(i), float(s)) for i, s in zip(items, scores, strict=True)], RETRIEVAL
        return cold_start(self.catalogue, history, self.rules)

    def recommend(self, history: UserHistory, k: int = 10) -> list[Recommendation]:
        pool, how = self.candidates(history)
        return apply_rules(
            pool,
            k=k,
            rules=self.rules,
            user=history,
            catalogue=self.catalogue,
            origin=how,
            vectors=self._vectors,
        )


def cold_start(
    catalogue: Catalogue, history: UserHistory, rules: Rules
) -> tuple[list[tuple[str, float]], str]:
    """The most popular items of the user's recent categories, else of the catalogue."""
    wanted = rules.candidates + len(history.reviewed)
    categories = history.recent_categories[: rules.cold_start.recent_categories]
    if categories:
        pool = [i for c in categories for i in catalogue.by_category.get(c, [])[:wanted]]
        pool.sort(key=lambda i: -catalogue.popularity[i])
        how = f"{COLD_START}:popular_in_recent_categories"
    else:
        pool = catalogue.ranked[:wanted]
        how = f"{COLD_START}:popular"
    return [(i, catalogue.popularity[i]) for i in pool[:wanted]], how
