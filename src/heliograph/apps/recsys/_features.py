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

import numpy as np
import pandas as pd

from heliograph.features import FeatureView, OnlineView, known_at

__all__ = [
    "ONLINE_ITEM_FEATURES",
    "ONLINE_USER_FEATURES",
    "POPULARITY_DAYS",
    "RecsysItemFeatures",
    "RecsysUserFeatures",
]

POPULARITY_DAYS = 30


def _utc(column: pd.Series) -> pd.Series:
    return pd.to_datetime(column, utc=True)


class RecsysUserFeatures(FeatureView):
    """What each user had reviewed, as known at ``as_of``."""

    name = "recsys_user_features"
    version = "1"
    datasets = ("recsys_reviews",)

    def compute(self, data: Mapping[str, pd.DataFrame], requests: pd.DataFrame) -> pd.DataFrame:
        out = requests.copy()
        reviews = data["recsys_reviews"]
        reviewed, counts = [], []
        if reviews.empty:
            by_user: dict[str, pd.DataFrame] = {}
        else:
            frame = reviews.assign(
                user=reviews["user"].astype(str),
                available_at=_utc(reviews["available_at"]),
                timestamp=_utc(reviews["timestamp"]),
            )
            by_user = {str(u): g for u, g in frame.groupby("user", sort=False)}
        for user, as_of in zip(requests["user"].astype(str), requests["as_of"], strict=True):
            mine = by_user.get(user)
            if mine is None:
                reviewed.append("[]")
                counts.append(0.0)
                continue
            mine = known_at(mine, as_of).sort_values(
                ["timestamp", "item"], ascending=False, kind="stable"
            )
            items = list(dict.fromkeys(mine["item"].astype(str)))
            reviewed.append(json.dumps(items))
            counts.append(float(len(items)))
        out["reviewed"] = reviewed
        out["reviews"] = np.asarray(counts, dtype=float)
        return out


class RecsysItemFeatures(FeatureView):
    """Each item's category, availability, release, age and recent popularity at ``as_of``."""

    name = "recsys_item_features"
    version = "1"
    datasets = ("recsys_items", "recsys_reviews")

    def compute(self, data: Mapping[str, pd.DataFrame], requests: pd.DataFrame) -> pd.DataFrame:
        out = requests.copy()
        items = data["recsys_items"]
        reviews = data["recsys_reviews"]

        def grouped(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
            if frame.empty:
                return {}
            frame = frame.assign(
                item=frame["item"].astype(str),
                available_at=_utc(frame["available_at"]),
                timestamp=_utc(frame["timestamp"]),
            )
            return {str(i): g for i, g in frame.groupby("item", sort=False)}

        rows, votes = grouped(items), grouped(reviews)
        window = pd.Timedelta(days=POPULARITY_DAYS)
        category: list[str | None] = []
        available: list[float] = []
        released: list[pd.Timestamp] = []
        popularity: list[float] = []
        last: list[pd.Timestamp] = []
        for item, target, as_of in zip(
            requests["item"].astype(str), requests["timestamp"], requests["as_of"], strict=True
        ):
            mine = rows.get(item)
            known = None if mine is None else known_at(mine, as_of)
            seen = votes.get(item)
            said = None if seen is None else known_at(seen, as_of)
            firsts = []
            if known is not None and not known.empty:
                newest = known.sort_values(["timestamp", "available_at"], kind="stable").iloc[-1]
                category.append(str(newest["category"]))
                available.append(1.0 if bool(newest["available"]) else 0.0)
                firsts.append(known["timestamp"].min())
            else:
                category.append(None)
                available.append(1.0)  # an item known only from reviews is on sale
            if said is not None and not said.empty:
                firsts.append(said["timestamp"].min())
                stamps = said["timestamp"]
                popularity.append(float(((stamps > target - window) & (stamps <= target)).sum()))
                last.append(stamps.max())
            else:
                popularity.append(0.0)
                last.append(pd.NaT)
            released.append(min(firsts) if firsts else pd.NaT)
        out["category"] = pd.Series(category, index=out.index, dtype=object)
        out["available"] = np.asarray(available, dtype=float)
        out["released"] = pd.Series(released, index=out.index, dtype="datetime64[us, UTC]")
        age = (out["timestamp"] - out["released"]).dt.total_seconds() / 86_400
        out["age_days"] = age.astype(float)
        out["popularity"] = np.asarray(popularity, dtype=float)
        out["last_review"] = pd.Series(last, index=out.index, dtype="datetime64[us, UTC]")
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
