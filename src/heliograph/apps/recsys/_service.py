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
from datetime import datetime, timedelta
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from heliograph.features import OnlineStore, compute_offline
from heliograph.lake import Lake
from heliograph.serving import Service, ServiceContext, ServiceFeatures

from ._catalogue import Catalogue, UserHistory
from ._features import ONLINE_ITEM_FEATURES, ONLINE_USER_FEATURES
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
        self._catalogue: tuple[Any, Catalogue] | None = None
        self._users: tuple[Any, frozenset[str]] | None = None

    def models(self, context: ServiceContext) -> list[str]:
        return [MODEL_NAME]

    def model_for(self, request: Any) -> str:
        return MODEL_NAME

    def store(self, context: ServiceContext) -> OnlineStore:
        """The online store given to the service, else the host's."""
        return self._store if self._store is not None else context.store

    def catalogue(self, store: OnlineStore, as_of: datetime) -> Catalogue:
        """Every item's features as of ``as_of``'s day, read again when a new
        materialisation (or a new day) changes them: from the online store item by item, or,
        when the store is behind the lake (or empty), computed from the lake in one pass."""
        found_head = store.head(ONLINE_ITEM_FEATURES)  # one read: its generation
        generation = found_head["generation"] if found_head is not None else 0
        key = (generation, pd.Timestamp(as_of).floor("D"))
        found = self._catalogue
        if found is not None and found[0] == key:
            return found[1]
        with self._building:  # one reader builds it; the others wait for it, not read again
            found = self._catalogue
            if found is not None and found[0] == key:
                return found[1]
            ready = store.status(ONLINE_ITEM_FEATURES).ready
            head = store.head(ONLINE_ITEM_FEATURES) or {}
            items = head.get("entities") or []
            if ready and items:
                rows = [
                    store.features(ONLINE_ITEM_FEATURES, item, as_of, horizon=_DAY).rows
                    for item in items
                ]
                frame = pd.concat(rows, ignore_index=True)
            else:
                frame = _items_from_lake(store.lake, as_of)
            catalogue = Catalogue.from_features(frame, as_of)
            self._catalogue = (key, catalogue)
            return catalogue

    def known_users(self, store: OnlineStore, head: dict[str, Any] | None = None) -> frozenset[str]:
        """The users the store holds features of (read again for each materialisation), from
        ``head`` when the caller has just read the user view's head."""
        head = (head if head is not None else store.head(ONLINE_USER_FEATURES)) or {}
        found = self._users
        if found is None or found[0] != head.get("generation"):
            found = self._users = (head.get("generation"), frozenset(head.get("entities", ())))
        return found[1]

    def features(self, context: ServiceContext, request: Any) -> ServiceFeatures:
        """The user's history and recent categories as of the request, from the online store
        (or the lake while it is not materialised); never remembered by the host (no state):
        the catalogue moves with every materialisation."""
        as_of = self.as_of(context, request)
        store = self.store(context)
        catalogue = self.catalogue(store, as_of)
        reviewed: list[str] = []
        head = store.head(ONLINE_USER_FEATURES)  # one read: its state and its users
        materialised = head is not None and head["status"] == "ok"
        # Never materialised: the store answers from the lake. Materialised: a user it does not
        # hold has no reviews (the store itself answers from the lake when it is behind).
        if not materialised or request.user in self.known_users(store, head):
            got = store.features(ONLINE_USER_FEATURES, request.user, as_of, horizon=_DAY).rows
            if len(got):
                reviewed = json.loads(got["reviewed"].iloc[0])
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
        if materialised:
            return ServiceFeatures(rows, as_of, source="online")
        return ServiceFeatures(rows, as_of, reason="the user features were never materialised")

    def respond(
        self, request: Any, features: ServiceFeatures, outputs: pd.DataFrame, version: str
    ) -> BaseModel:
        rows = features.rows
        history = UserHistory(
            request.user,
            frozenset(json.loads(_first(rows, "reviewed"))),
            tuple(json.loads(_first(rows, "recent_categories"))),
        )
        assert self._catalogue is not None, "features first"
        catalogue = self._catalogue[1]  # the one features() read
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
