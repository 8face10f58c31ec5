"""The recommendations service: "ten items for user u00012, as of now".

``POST /v1/services/recommendations/predict`` with ``{"user": "u00012", "k": 10}`` answers the
user's recommendations, each with its score and the rules that shaped it. The champion of
``recsys-recommender`` proposes candidates (its input is the user's ``user_key`` and how many
to propose); the user's and the items' features come from the online store (as of the
request), and the declared :class:`Rules` shape the list. A user the model does not know, or
nobody knows, is cold start (``cold_start:…`` rules), never an error; a malformed request is
a 422 naming the field. The domain only: the gateway validates, records the ledger and runs
the challenger's shadow.

Example::

    create_app(project, [Recommendations()])
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from heliograph.features import OnlineStore, compute_offline
from heliograph.lake import Lake
from heliograph.serving import LoadedModel, Service, ServiceAnswer, ServiceContext, ServiceFeatures

from ._catalogue import Catalogue, UserHistory
from ._features import ONLINE_ITEM_FEATURES, ONLINE_USER_FEATURES, ReviewHistory
from ._interactions import user_key
from ._retrieval import cold_start
from ._rules import RETRIEVAL, MaxPerCategory, NewItems, Rules, apply_rules
from ._train import MODEL_NAME

__all__ = [
    "SERVED_RULES",
    "RecommendationItem",
    "Recommendations",
    "RecommendationsRequest",
    "RecommendationsResponse",
]

_DAY = timedelta(days=1)
SERVED_RULES = Rules(diversity=MaxPerCategory(n=3), new_items=NewItems(slots=1))


class RecommendationsRequest(BaseModel):
    user: str = Field(
        min_length=1, max_length=128, description="The user's id.", examples=["u00012"]
    )
    k: int = Field(default=10, ge=1, le=100, description="How many items to answer.")


class RecommendationItem(BaseModel):
    item: str
    score: float
    rules: list[str] = Field(description="Where the item came from, and what moved it in.")


class RecommendationsResponse(BaseModel):
    user: str
    as_of: datetime
    model: str
    version: str
    cold_start: bool
    items: list[RecommendationItem]


class Recommendations(Service):
    """The champion's candidates for the user, shaped by the declared rules."""

    name = "recommendations"
    description = "Recommendations for a user: items with scores and the rules that shaped them"
    Request: ClassVar[type[BaseModel]] = RecommendationsRequest
    Response: ClassVar[type[BaseModel]] = RecommendationsResponse

    def __init__(self, rules: Rules = SERVED_RULES, store: OnlineStore | None = None) -> None:
        self.rules = rules
        self._store = store
        self._building = threading.Lock()
        self._memory: _Memory | None = None

    def models(self, context: ServiceContext) -> list[str]:
        return [MODEL_NAME]

    def model_for(self, request: Any) -> str:
        return MODEL_NAME

    def store(self, context: ServiceContext) -> OnlineStore:
        """The online store given to the service, else the host's."""
        return self._store if self._store is not None else context.store

    def memory(self, store: OnlineStore, as_of: datetime) -> _Memory:
        """Every user's reviews and every item's features as of ``as_of``'s day, read in one
        pass each (not entity by entity) and kept while the lake's files and the day stay the
        same; whether the store is materialised and up to date with those files is looked at
        again at most every ``store.lake_check_seconds``, as the store itself does."""
        day = pd.Timestamp(as_of).floor("D")
        found = self._memory
        if found is not None and found.day == day and not found.stale(store):
            return found
        with self._building:  # one reader builds it; the others wait for it, not read again
            found = self._memory
            if found is not None and found.day == day and not found.stale(store):
                return found
            files = _files(store.lake)
            reason = ""
            for online in (ONLINE_USER_FEATURES, ONLINE_ITEM_FEATURES):
                status = store.status(online)
                if status.state != "ok":
                    reason = reason or f"{online.ref} was never materialised"
                elif status.behind:
                    reason = reason or "partitions were published since the last materialisation"
            if found is not None and found.files == files and found.day == day:
                history, catalogue = found.history, found.catalogue
            else:
                history = ReviewHistory(_read(store.lake, "recsys_reviews"))
                catalogue = Catalogue.from_features(_items_from_lake(store.lake, as_of), as_of)
            found = _Memory(day, files, history, catalogue, reason, time.monotonic())
            self._memory = found
            return found

    def catalogue(self, store: OnlineStore, as_of: datetime) -> Catalogue:
        """Every item's features as of ``as_of``'s day (see :meth:`memory`)."""
        return self.memory(store, as_of).catalogue

    def features(self, context: ServiceContext, request: Any) -> ServiceFeatures:
        """The user's history and recent categories as of the request: the reviews known at
        ``as_of`` (not only its day), from :meth:`memory`; ``online`` when the store holds
        the same lake files materialised, else from the lake with the reason."""
        as_of = self.as_of(context, request)
        memory = self.memory(self.store(context), as_of)
        catalogue = memory.catalogue
        reviewed = memory.history.reviewed(request.user, as_of)
        recent: list[str] = []
        for item in reviewed:
            category = catalogue.category.get(item)
            if category is not None and category not in recent:
                recent.append(category)
            if len(recent) == self.rules.cold_start.recent_categories:
                break
        # Typed arrays, not lists: pandas infers nothing (half the cost of a one-row frame).
        rows = pd.DataFrame(
            {
                "user": _strings(request.user),
                "user_key": np.array([user_key(request.user)], dtype=np.float64),
                "n": np.array([self.rules.candidates + len(reviewed)], dtype=np.float64),
                "as_of": pd.DatetimeIndex([pd.Timestamp(as_of)]),
                "reviewed": _strings(json.dumps(reviewed)),
                "recent_categories": _strings(json.dumps(recent)),
            }
        )
        if not memory.reason:
            return ServiceFeatures(rows, as_of, source="online")
        return ServiceFeatures(rows, as_of, reason=memory.reason)

    def answer(
        self,
        context: ServiceContext,
        request: Any,
        model: LoadedModel,
        features: ServiceFeatures | None = None,
    ) -> ServiceAnswer:
        """The model's candidates, called in process: a :class:`RecommenderModel` straight
        (its inputs are typed here: MLflow's schema checks would cost more than the ANN
        query), any other model through its pyfunc."""
        features = features or self.features(context, request)
        inputs = features.rows[list(_INPUTS)]
        direct = _python_model(model)
        if direct is not None:
            outputs = direct.answer(inputs)
        else:
            outputs = model.predict_cached(model.inputs(features.rows))
        response = self.respond(request, features, outputs, model.version)
        # What the ledger keeps: the candidates and what was served (after the rules), to
        # whom, for the live hit rate (``live_hit_rate``) of this version and role.
        served = outputs.assign(
            user=_strings(request.user),
            served=_strings(json.dumps([i.item for i in response.items])),  # type: ignore[attr-defined]
        )
        return ServiceAnswer(response, features, inputs, served, model.version)

    def respond(
        self, request: Any, features: ServiceFeatures, outputs: pd.DataFrame, version: str
    ) -> BaseModel:
        rows = features.rows
        history = UserHistory(
            request.user,
            frozenset(json.loads(_first(rows, "reviewed"))),
            tuple(json.loads(_first(rows, "recent_categories"))),
        )
        assert self._memory is not None, "features first"
        catalogue = self._memory.catalogue  # the one features() read
        known = bool(_first(outputs, "known"))
        if known:
            items = json.loads(_first(outputs, "items"))
            scores = json.loads(_first(outputs, "scores"))
            pool, how = list(zip(items, scores, strict=True)), RETRIEVAL
        else:
            pool, how = cold_start(catalogue, history, self.rules)
        chosen = apply_rules(
            pool, k=request.k, rules=self.rules, user=history, catalogue=catalogue, origin=how
        )
        return RecommendationsResponse(
            user=request.user,
            as_of=_first(rows, "as_of").to_pydatetime(),
            model=MODEL_NAME,
            version=version,
            cold_start=not known,
            items=[
                RecommendationItem(item=r.item, score=r.score, rules=list(r.rules)) for r in chosen
            ],
        )


_INPUTS = ("user_key", "n")


@dataclass(frozen=True)
class _Memory:
    """What :meth:`Recommendations.memory` read, for one day and one set of lake files."""

    day: pd.Timestamp
    files: tuple[str, ...]
    history: ReviewHistory
    catalogue: Catalogue
    reason: str  # why the rows are not the store's (empty: they are)
    checked: float  # time.monotonic() when the files and the store were looked at

    def stale(self, store: OnlineStore) -> bool:
        return time.monotonic() - self.checked >= store.lake_check_seconds


def _files(lake: Lake) -> tuple[str, ...]:
    names = (*ONLINE_USER_FEATURES.view.datasets, *ONLINE_ITEM_FEATURES.view.datasets)
    return tuple(str(p) for name in dict.fromkeys(names) for p in lake.files(name))


def _read(lake: Lake, name: str) -> pd.DataFrame:
    return lake.read(name) if lake.files(name) else pd.DataFrame()


def _python_model(model: LoadedModel) -> Any:
    """The loaded version's ``RecommenderModel``, if that is what it is (else ``None``)."""
    from ._pyfunc import RecommenderModel  # MLflow: imported once a model is loaded

    try:
        found = model.pyfunc.unwrap_python_model()
    except Exception:  # not a Python model
        return None
    return found if isinstance(found, RecommenderModel) else None


def _strings(value: str) -> np.ndarray:
    """One string as a one-element object array (a frame column pandas need not infer)."""
    found = np.empty(1, dtype=object)
    found[0] = value
    return found


def _first(frame: pd.DataFrame, column: str) -> Any:
    """The first row's ``column``: positional, without building the column's Series."""
    return frame.iat[0, frame.columns.get_loc(column)]


def _items_from_lake(lake: Lake, as_of: datetime) -> pd.DataFrame:
    """Every item's features as of ``as_of``, computed from the lake in one pass."""
    items: set[str] = set()
    for name in ONLINE_ITEM_FEATURES.view.datasets:
        if lake.files(name):
            found = lake.query(f'SELECT DISTINCT CAST("item" AS VARCHAR) AS item FROM "{name}"')
            items |= set(found["item"].astype(str))
    if not items:
        return pd.DataFrame()
    target = pd.Timestamp(as_of).floor("D") + _DAY
    moment = pd.Timestamp(as_of)
    requests = pd.DataFrame({"item": sorted(items), "timestamp": target, "as_of": moment})
    for column in ("timestamp", "as_of"):
        requests[column] = requests[column].astype("datetime64[us, UTC]")
    return compute_offline(lake, ONLINE_ITEM_FEATURES.view, requests)
