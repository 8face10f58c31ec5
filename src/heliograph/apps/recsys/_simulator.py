"""A deterministic, seeded simulator of a review stream: who reviewed what, and when.

It produces the two recommender datasets, ``recsys_reviews`` (user, item, rating, timestamp)
and ``recsys_items`` (item, category, availability, from when), so the recommender, its tests
and its demos run with no download. The same arguments always give identical frames.

How the stream is built:

- items belong to categories; each item has a latent vector near its category's centre and a
  base popularity drawn from a power law (a few hits, a long tail);
- each user likes one to three categories: their latent taste is near those centres; users
  differ in how active they are (log-normal);
- every day, the number of reviews follows the season (weekly rhythm, a December peak) and
  each review's user is drawn by activity among users who have joined; the item is drawn by
  ``softmax(taste · item + log popularity + log burst)`` among items already released, never
  one the user reviewed before;
- new users join and new items are released every day; a few items are withdrawn (a row with
  ``available = false``);
- seasonal bursts: each year two categories are in fashion for a few weeks, and December
  boosts one more;
- a rating (1–5) follows the affinity, with noise. A review becomes known an hour after it
  is written (``available_at``), so a replayed clock releases it day by day.

>>> data = simulate(start="2024-01-01", end="2024-03-31", seed=7)
>>> sorted(data)
['recsys_items', 'recsys_reviews']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["SimulatorSpec", "simulate"]

_DIM = 16
_DELAY = pd.Timedelta(hours=1)


@dataclass(frozen=True)
class SimulatorSpec:
    """The simulator's knobs; the defaults give ~150 reviews a day over ~1,500 items."""

    start: str = "2024-01-01"
    end: str = "2024-12-31"
    seed: int = 7
    users: int = 1_000  # on the first day
    items: int = 1_200  # on the first day
    categories: int = 12
    new_users_per_day: float = 4.0
    new_items_per_day: float = 2.0
    reviews_per_day: float = 150.0
    popularity_exponent: float = 0.9  # Zipf exponent of the items' base popularity
    taste_strength: float = 5.0  # how much a user's taste outweighs popularity
    withdrawn_share: float = 0.03  # items later withdrawn (unavailable)

    def __post_init__(self) -> None:
        if pd.Timestamp(self.end) < pd.Timestamp(self.start):
            raise ValueError(f"end {self.end} is before start {self.start}")
        for name in ("users", "items", "categories"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.reviews_per_day <= 0:
            raise ValueError("reviews_per_day must be positive")


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def simulate(
    start: str = "2024-01-01", end: str = "2024-12-31", *, seed: int = 7, **knobs: float
) -> dict[str, pd.DataFrame]:
    """Simulate reviews and items from ``start`` to ``end`` (inclusive days)."""
    spec = SimulatorSpec(start=start, end=end, seed=seed, **knobs)  # type: ignore[arg-type]
    rng = np.random.default_rng(spec.seed)
    days = pd.date_range(spec.start, spec.end, freq="D", tz="UTC")
    n_days = len(days)
    # Who and what exists, and from which day.
    new_users = rng.poisson(spec.new_users_per_day, n_days)
    new_items = rng.poisson(spec.new_items_per_day, n_days)
    new_users[0], new_items[0] = spec.users, spec.items
    user_day = np.repeat(np.arange(n_days), new_users)
    item_day = np.repeat(np.arange(n_days), new_items)
    n_users, n_items, n_cat = len(user_day), len(item_day), spec.categories

    centres = _unit(rng.normal(size=(n_cat, _DIM)))
    item_cat = rng.integers(0, n_cat, n_items)
    item_vec = _unit(centres[item_cat] + 0.6 * rng.normal(size=(n_items, _DIM)) / np.sqrt(_DIM))
    ranks = rng.permutation(n_items) + 1
    log_pop = -spec.popularity_exponent * np.log(ranks)
    likes = [rng.choice(n_cat, size=rng.integers(1, 4), replace=False) for _ in range(n_users)]
    user_vec = _unit(
        np.stack([centres[c].mean(axis=0) for c in likes])
        + 0.5 * rng.normal(size=(n_users, _DIM)) / np.sqrt(_DIM)
    )
    activity = rng.lognormal(0.0, 1.0, n_users)

    # Bursts: per year, two categories in fashion for three weeks, one more in December.
    burst = np.ones((n_days, n_cat))
    for year in sorted(set(days.year)):
        in_year = np.flatnonzero(days.year == year)
        for _ in range(2):
            begin = int(rng.choice(in_year))
            burst[begin : begin + 21, rng.integers(n_cat)] *= 3.0
        december = np.flatnonzero((days.year == year) & (days.month == 12))
        burst[december, rng.integers(n_cat)] *= 2.5
    season = (
        1.0
        + 0.15 * (days.day_of_week.to_numpy() >= 5)
        + 0.4 * np.exp(-(((days.day_of_year.to_numpy() - 355) / 12.0) ** 2))
    )

    seen: list[set[int]] = [set() for _ in range(n_users)]
    chosen_user: list[int] = []
    chosen_item: list[int] = []
    chosen_us: list[int] = []  # microseconds since the first day
    for d in range(n_days):
        users_now = int(np.searchsorted(user_day, d, side="right"))
        items_now = int(np.searchsorted(item_day, d, side="right"))
        count = rng.poisson(spec.reviews_per_day * season[d])
        if count == 0:
            continue
        weights = activity[:users_now] / activity[:users_now].sum()
        who = rng.choice(users_now, size=count, p=weights)
        logits = (
            spec.taste_strength * (user_vec[who] @ item_vec[:items_now].T) * np.sqrt(_DIM) / 2
            + log_pop[:items_now]
            + np.log(burst[d, item_cat[:items_now]])
        )
        noisy = logits + rng.gumbel(size=logits.shape)  # Gumbel-max: a softmax draw per row
        width = min(8, items_now)
        top = np.argpartition(-noisy, width - 1, axis=1)[:, :width]
        order = np.take_along_axis(
            top, np.argsort(-np.take_along_axis(noisy, top, axis=1), axis=1), axis=1
        )
        seconds = np.sort(rng.integers(0, 86_400, count))
        for u, ranked, second in zip(who.tolist(), order.tolist(), seconds.tolist(), strict=True):
            pick = next((i for i in ranked if i not in seen[u]), None)
            if pick is None:  # the user reviewed all eight likeliest: no review today
                continue
            seen[u].add(pick)
            chosen_user.append(u)
            chosen_item.append(pick)
            chosen_us.append((d * 86_400 + second) * 1_000_000)
    users_arr, items_arr = np.asarray(chosen_user, dtype=int), np.asarray(chosen_item, dtype=int)
    affinity = np.einsum("ij,ij->i", user_vec[users_arr], item_vec[items_arr])
    noise = rng.normal(0, 0.8, len(users_arr))
    ratings = np.clip(np.rint(3.2 + 2.5 * affinity + noise), 1, 5)
    stamps = pd.DatetimeIndex(
        days[0].as_unit("us") + pd.to_timedelta(np.asarray(chosen_us, dtype=np.int64), unit="us")
    )
    reviews = pd.DataFrame(
        {
            "user": [f"u{u:05d}" for u in chosen_user],
            "item": [f"i{i:05d}" for i in chosen_item],
            "rating": ratings.astype(float),
            "timestamp": stamps,
            "available_at": stamps + _DELAY,
        }
    )
    released = days[item_day].astype("datetime64[us, UTC]")
    items = pd.DataFrame(
        {
            "item": [f"i{i:05d}" for i in range(n_items)],
            "category": [f"c{c:02d}" for c in item_cat],
            "available": True,
            "timestamp": released,
        }
    )
    withdrawn = np.flatnonzero(rng.random(n_items) < spec.withdrawn_share)
    later = item_day[withdrawn] + rng.integers(1, max(2, n_days), len(withdrawn))
    keep = later < n_days
    gone = items.iloc[withdrawn[keep]].assign(
        available=False, timestamp=days[later[keep]].astype("datetime64[us, UTC]")
    )
    items = pd.concat([items, gone], ignore_index=True)
    items["available_at"] = items["timestamp"]
    items = items.sort_values(["timestamp", "item"], ignore_index=True)
    return {"recsys_items": items, "recsys_reviews": reviews}
