"""The recommender's features, as of a moment: offline from the lake, online from the store.

- user features (``recsys_user_features``, entity ``user``, from ``recsys_reviews``):
  ``reviewed`` (the items the user had reviewed, newest first, as a JSON list) and
  ``reviews`` (how many). Their recent categories are those of the newest reviewed items in
  the item features (an online view reads only its entity's own rows, and a review does
  not carry its item's category);
- item features (``recsys_item_features``, entity ``item``, from ``recsys_items`` and
  ``recsys_reviews``): ``category``, ``available`` (the item's newest row known), ``released``
  (its first row or review), ``age_days`` at the target, ``popularity`` (its reviews in the 30
  days up to the target) and ``last_review``.

Every value is computed from the rows known at the request's ``as_of`` (``known_at``), so the
online store's states give what ``compute_offline`` gives. The target (``timestamp``) is the
next midnight: the online views ask one day ahead, a row a day.

Example::

    rows = compute_offline(lake, RecsysItemFeatures(), requests)
    store.features(ONLINE_USER_FEATURES, "u00012", as_of, horizon=timedelta(days=1)).rows
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from heliograph.features import FeatureView, OnlineView

__all__ = [
    "ONLINE_ITEM_FEATURES",
    "ONLINE_USER_FEATURES",
    "POPULARITY_DAYS",
    "RecsysItemFeatures",
    "RecsysUserFeatures",
    "ReviewHistory",
]

POPULARITY_DAYS = 30


def _us(column: pd.Series) -> np.ndarray:
    """Moments as naive UTC ``datetime64[us]`` (for comparing with numpy)."""
    return pd.to_datetime(column, utc=True).dt.tz_convert(None).to_numpy("datetime64[us]")


def _groups(requests: pd.DataFrame, column: str) -> dict[tuple[str, Any], list[int]]:
    """Request positions per (entity, ``as_of``): every value but the target's is the same
    within a group, so it is computed once, not once per target."""
    found: dict[tuple[str, Any], list[int]] = {}
    keys = zip(requests[column].astype(str), _us(requests["as_of"]), strict=True)
    for position, key in enumerate(keys):
        found.setdefault(key, []).append(position)
    return found


class _Rows:
    """A dataset's rows as arrays: the entity, when each became known, its time; and each
    entity's rows, found once (a mask over every row per entity would cost rows x entities)."""

    def __init__(self, frame: pd.DataFrame, column: str) -> None:
        self.frame = frame
        empty = frame.empty
        self.entity = np.array([]) if empty else frame[column].astype(str).to_numpy()
        self.known = np.array([], "datetime64[us]") if empty else _us(frame["available_at"])
        self.time = np.array([], "datetime64[us]") if empty else _us(frame["timestamp"])
        order = np.argsort(self.entity, kind="stable")
        names, starts = np.unique(self.entity[order], return_index=True)
        parts = np.split(order, starts[1:]) if len(order) else []
        self._of = dict(zip(names.tolist(), parts, strict=True))

    @property
    def entities(self) -> list[str]:
        """The entities that have rows."""
        return list(self._of)

    def known_at(self, entity: str, as_of: Any) -> np.ndarray:
        """The positions of ``entity``'s rows known at ``as_of``, in the frame's order."""
        mine = self._of.get(entity)
        if mine is None:
            return np.array([], dtype=np.int64)
        return mine[self.known[mine] <= as_of]


class ReviewHistory:
    """Every user's reviews, indexed once: what a user had reviewed as known at a moment,
    newest first (the user view's logic, for one request, as the service asks, or many).

    Example::

        ReviewHistory(lake.read("recsys_reviews")).reviewed("u00012", now)
    """

    def __init__(self, reviews: pd.DataFrame) -> None:
        self._rows = _Rows(reviews, "user")
        self._items = reviews["item"].astype(str).to_numpy() if len(reviews) else np.array([])
        self.users = frozenset(self._rows.entities)

    def reviewed(self, user: str, as_of: Any) -> list[str]:
        """The items ``user`` had reviewed, as known at ``as_of``, newest first, once each."""
        if not isinstance(as_of, np.datetime64):
            as_of = np.datetime64(pd.Timestamp(as_of).tz_convert("UTC").tz_localize(None), "us")
        positions = self._rows.known_at(user, as_of)
        if not len(positions):
            return []
        mine, stamps = self._items[positions], self._rows.time[positions]
        order = np.lexsort((mine, stamps))[::-1]  # newest first
        return list(dict.fromkeys(mine[order].tolist()))


class RecsysUserFeatures(FeatureView):
    """What each user had reviewed, as known at ``as_of``."""

    name = "recsys_user_features"
    version = "1"
    datasets = ("recsys_reviews",)
    one_pass = True  # every row is taken as known at its own request's as_of

    def compute(self, data: Mapping[str, pd.DataFrame], requests: pd.DataFrame) -> pd.DataFrame:
        out = requests.copy()
        history = ReviewHistory(data["recsys_reviews"])
        reviewed = np.full(len(out), "[]", dtype=object)
        counts = np.zeros(len(out))
        for (user, as_of), positions in _groups(requests, "user").items():
            seen = history.reviewed(user, as_of)
            if seen:
                reviewed[positions] = json.dumps(seen)
                counts[positions] = float(len(seen))
        out["reviewed"] = reviewed
        out["reviews"] = counts
        return out


class RecsysItemFeatures(FeatureView):
    """Each item's category, availability, release, age and recent popularity at ``as_of``."""

    name = "recsys_item_features"
    version = "1"
    datasets = ("recsys_items", "recsys_reviews")
    one_pass = True  # every row is taken as known at its own request's as_of

    def compute(self, data: Mapping[str, pd.DataFrame], requests: pd.DataFrame) -> pd.DataFrame:
        out = requests.copy()
        rows = _Rows(data["recsys_items"], "item")
        votes = _Rows(data["recsys_reviews"], "item")
        categories = rows.frame["category"].to_numpy() if len(rows.frame) else np.array([])
        on_sale = rows.frame["available"].to_numpy() if len(rows.frame) else np.array([])
        targets = _us(requests["timestamp"])
        window = np.timedelta64(POPULARITY_DAYS, "D")
        n = len(out)
        category = np.full(n, None, dtype=object)
        available = np.ones(n)  # an item known only from reviews is on sale
        released = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
        popularity = np.zeros(n)
        last = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
        for (item, as_of), positions in _groups(requests, "item").items():
            firsts = []
            mask = rows.known_at(item, as_of)
            if len(mask):
                newest = np.lexsort((rows.known[mask], rows.time[mask]))[-1]
                category[positions] = str(categories[mask][newest])
                available[positions] = 1.0 if bool(on_sale[mask][newest]) else 0.0
                firsts.append(rows.time[mask].min())
            said = votes.known_at(item, as_of)
            if len(said):
                stamps = np.sort(votes.time[said])
                firsts.append(stamps[0])
                wanted = targets[positions]
                upto = np.searchsorted(stamps, wanted, side="right")
                since = np.searchsorted(stamps, wanted - window, side="right")
                popularity[positions] = (upto - since).astype(float)
                last[positions] = stamps[-1]
            if firsts:
                released[positions] = min(firsts)
        out["category"] = category
        out["available"] = available
        out["released"] = pd.Series(released, index=out.index).dt.tz_localize("UTC")
        age = (targets - released) / np.timedelta64(1, "s") / 86_400
        out["age_days"] = age.astype(float)
        out["popularity"] = popularity
        out["last_review"] = pd.Series(last, index=out.index).dt.tz_localize("UTC")
        return out


ONLINE_USER_FEATURES = OnlineView(
    RecsysUserFeatures(),
    entity="user",
    horizon=timedelta(days=1),
    lookback=timedelta(days=3650),
    step=timedelta(days=1),
)
ONLINE_ITEM_FEATURES = OnlineView(
    RecsysItemFeatures(),
    entity="item",
    horizon=timedelta(days=1),
    lookback=timedelta(days=3650),
    step=timedelta(days=1),
)
