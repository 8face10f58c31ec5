"""A fitted recommender as a registered model: what the gateway loads to retrieve candidates.

A serving signature is numbers, so a user is given as ``user_key(user)`` (a 52-bit hash of
the id, exact in a double) with ``n``, how many candidates to return. The answer is one row
per request: ``items`` and ``scores`` (JSON lists, best first, what the user had reviewed
when the model was fit left in: the rules remove it with the user's current history) and
``known`` (1 if the model knows the user, else 0 and no items: cold start is the rules').

An ALS model answers from its HNSW index, the artefact ``index`` logged with it (built from
its item vectors, per model version); EASE and popularity rank the whole catalogue.

Example::

    model = RecommenderModel(als, interactions, index=ItemIndex.build(als.item_factors))
    model.predict(None, pd.DataFrame({"user_key": [user_key("u00012")], "n": [60.0]}))
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

from ._ann import ItemIndex
from ._interactions import Interactions, user_key
from ._recommenders import ALS, Recommender

__all__ = ["RecommenderModel"]

INDEX_ARTIFACT = "index"


class RecommenderModel(PythonModel):
    """A fitted recommender, the users and items it knows, and (ALS) its item index."""

    def __init__(
        self, model: Recommender, interactions: Interactions, index: ItemIndex | None = None
    ) -> None:
        self.model = model
        self.items = np.asarray(interactions.items).astype(str)
        self.users = {user_key(u): n for n, u in enumerate(interactions.users)}
        self.index = index

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["index"] = None  # logged as the ``index`` artefact, loaded by load_context
        return state

    def load_context(self, context: Any) -> None:
        found = (getattr(context, "artifacts", None) or {}).get(INDEX_ARTIFACT)
        if found is not None:
            self.index = ItemIndex.load(Path(found))

    def candidates(self, row: int, n: int) -> tuple[list[str], list[float]]:
        """The ``n`` best items for the user of row ``row``, best first."""
        n = max(1, min(n, len(self.items)))
        if self.index is not None and isinstance(self.model, ALS):
            assert self.model.user_factors is not None
            labels, scores = self.index.query(self.model.user_factors[row], k=n)
            return [str(i) for i in self.index.items[labels]], [float(s) for s in scores]
        scores = self.model.scores([row])[0]
        best = np.argsort(-scores, kind="stable")[:n]
        return self.items[best].tolist(), [float(s) for s in scores[best]]

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        return self.answer(model_input)

    def answer(self, model_input: pd.DataFrame) -> pd.DataFrame:
        """What :meth:`predict` answers, called straight: MLflow wraps ``predict`` of every
        ``PythonModel`` in its input checks, which cost more than the ANN query."""
        keys: Sequence[float] = model_input["user_key"].to_numpy(dtype=float).tolist()
        asked = model_input["n"].to_numpy(dtype=float)
        wanted = np.where(np.isnan(asked), 50.0, asked).astype(int).tolist()
        items, scores, known = [], [], []
        for key, n in zip(keys, wanted, strict=True):
            row = self.users.get(key)
            if row is None:
                found: tuple[list[str], list[float]] = ([], [])
            else:
                found = self.candidates(row, n)
            items.append(json.dumps(found[0]))
            scores.append(json.dumps([round(s, 6) for s in found[1]]))
            known.append(0.0 if row is None else 1.0)
        texts = np.empty((2, len(items)), dtype=object)  # typed: pandas infers nothing
        texts[0, :], texts[1, :] = items, scores
        return pd.DataFrame(
            {"items": texts[0], "scores": texts[1], "known": np.array(known, dtype=np.float64)}
        )
