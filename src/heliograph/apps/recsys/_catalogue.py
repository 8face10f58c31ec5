"""What the rules need to know, as of a moment: the items (category, availability, release,
popularity) and each user's history (what they reviewed, their recent categories).

Computed offline from the lake's ``recsys_items`` and ``recsys_reviews`` frames using only rows
available at the moment given; the online feature store will serve the same values
(issue 13, item 4).

Example::

    catalogue = Catalogue.as_of(items, reviews, "2024-10-01")
    history = UserHistory.as_of(reviews, "u00012", "2024-10-01", catalogue)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["Catalogue", "UserHistory"]


def _ts(when: str | pd.Timestamp) -> pd.Timestamp:
    stamp = pd.Timestamp(when)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _known(frame: pd.DataFrame, when: pd.Timestamp) -> pd.DataFrame:
    column = "available_at" if "available_at" in frame.columns else "timestamp"
    return frame[pd.to_datetime(frame[column], utc=True) <= when]


@dataclass(frozen=True)
class Catalogue:
    """Every item known at the moment given: ``category``, ``available``, ``released`` and
    ``popularity`` (reviews in the last ``window_days``), keyed by item id; ``when`` is the
    moment they are computed for."""

    when: pd.Timestamp
    category: dict[str, str]
    available: dict[str, bool]
    released: dict[str, pd.Timestamp]
    popularity: dict[str, float]
    by_category: dict[str, list[str]] = field(repr=False)  # most popular first
    ranked: list[str] = field(repr=False)  # every item, most popular first
    _memo: dict[Any, list[str]] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def as_of(
        cls,
        items: pd.DataFrame | None,
        reviews: pd.DataFrame,
        when: str | pd.Timestamp,
        *,
        window_days: int = 30,
    ) -> Catalogue:
        now = _ts(when)
        seen = _known(reviews, now)
        stamps = pd.to_datetime(seen["timestamp"], utc=True)
        recent = seen[stamps > now - pd.Timedelta(days=window_days)]
        counts = recent["item"].astype(str).value_counts()
        first_review = seen.assign(t=stamps).groupby("item")["t"].min()
        category: dict[str, str] = {}
        available: dict[str, bool] = {}
        released: dict[str, pd.Timestamp] = {str(i): t for i, t in first_review.items()}
        if items is not None and not items.empty:
            rows = _known(items, now).assign(t=lambda f: pd.to_datetime(f["timestamp"], utc=True))
            rows = rows.sort_values(["t", "item"], kind="stable")
            latest = rows.groupby("item").tail(1)
            category = dict(
                zip(latest["item"].astype(str), latest["category"].astype(str), strict=True)
            )
            available = dict(
                zip(latest["item"].astype(str), latest["available"].astype(bool), strict=True)
            )
            released.update({str(i): t for i, t in rows.groupby("item")["t"].min().items()})
        every = sorted(set(released) | set(category))
        popularity = {i: float(counts.get(i, 0.0)) for i in every}
        ranked = sorted(every, key=lambda i: (-popularity[i], i))
        by_category: dict[str, list[str]] = {}
        for item in ranked:
            if item in category:
                by_category.setdefault(category[item], []).append(item)
        return cls(now, category, available, released, popularity, by_category, ranked)

    @classmethod
    def from_features(cls, frame: pd.DataFrame, when: str | pd.Timestamp) -> Catalogue:
        """The catalogue from item feature rows (``recsys_item_features``, one per item)."""
        now = _ts(when)
        if frame.empty:
            return cls(now, {}, {}, {}, {}, {}, [])
        items = frame["item"].astype(str).tolist()
        category = {
            i: str(c) for i, c in zip(items, frame["category"], strict=True) if isinstance(c, str)
        }
        available = {i: bool(a) for i, a in zip(items, frame["available"], strict=True)}
        released = {
            i: pd.Timestamp(r) for i, r in zip(items, frame["released"], strict=True) if pd.notna(r)
        }
        popularity = {i: float(p) for i, p in zip(items, frame["popularity"], strict=True)}
        ranked = sorted(items, key=lambda i: (-popularity[i], i))
        by_category: dict[str, list[str]] = {}
        for item in ranked:
            if item in category:
                by_category.setdefault(category[item], []).append(item)
        return cls(now, category, available, released, popularity, by_category, ranked)

    def is_available(self, item: str) -> bool:
        return self.available.get(item, True)

    def new_items(self, max_age_days: float) -> list[str]:
        """Items released within ``max_age_days`` before the moment given, newest first
        (computed once per catalogue and age: every request asks the same)."""
        found = self._memo.get(("new_items", max_age_days))
        if found is None:
            found = self._memo[("new_items", max_age_days)] = self._new_items(max_age_days)
        return list(found)

    def _new_items(self, max_age_days: float) -> list[str]:
        since = self.when - pd.Timedelta(days=max_age_days)
        fresh = [(t, i) for i, t in self.released.items() if t > since]
        return [i for _, i in sorted(fresh, key=lambda p: (p[0], p[1]), reverse=True)]


@dataclass(frozen=True)
class UserHistory:
    """What one user had reviewed by the moment given, and their most recent categories."""

    user: str
    reviewed: frozenset[str]
    recent_categories: tuple[str, ...]

    @classmethod
    def as_of(
        cls,
        reviews: pd.DataFrame,
        user: str,
        when: str | pd.Timestamp,
        catalogue: Catalogue,
        *,
        categories: int = 3,
    ) -> UserHistory:
        mine = _known(reviews[reviews["user"].astype(str) == user], _ts(when))
        mine = mine.sort_values("timestamp", ascending=False, kind="stable")
        recent: list[str] = []
        for item in mine["item"].astype(str):
            cat = catalogue.category.get(item)
            if cat is not None and cat not in recent:
                recent.append(cat)
            if len(recent) == categories:
                break
        return cls(user, frozenset(mine["item"].astype(str)), tuple(recent))

    @classmethod
    def empty(cls, user: str) -> UserHistory:
        return cls(user, frozenset(), ())
