"""Live hit rate of recommendations: did the user later interact with what was recommended?

A recommendation (one ledgered answer: who, when, which items, best first) is judged once its
``horizon`` has passed: a hit when the user interacted with one of its first ``k`` items in
``(at, at + horizon]``. The later interactions are the actuals; a recommendation whose horizon
has not passed by ``now`` is not judged yet (counted in ``pending``, never as a miss).

Example::

    hit_rate(recommendations, reviews, k=10, horizon=timedelta(days=7), now=now)
    # model_name, model_version, role, count, judged, pending, hits, hr_at_10
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from heliograph.core import as_utc

from ._performance import GROUP

__all__ = ["hit_rate"]

_NEEDED = {
    "recommendations": ("user", "at", "items"),
    "interactions": ("user", "item", "timestamp"),
}


def hit_rate(
    recommendations: pd.DataFrame,
    interactions: pd.DataFrame,
    *,
    k: int,
    horizon: timedelta,
    now: datetime,
    by: Sequence[str] = GROUP,
) -> pd.DataFrame:
    """One row per group of ``by`` (e.g. ``(*GROUP, "day")``): ``count`` recommendations,
    ``judged`` (horizon passed), ``pending``, ``hits`` and ``hr_at_{k}`` (hits / judged).

    ``recommendations``: ``by``'s columns, ``user``, ``at`` and ``items`` (a list, best
    first); ``interactions``: ``user``, ``item``, ``timestamp``."""
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    for name, frame in (("recommendations", recommendations), ("interactions", interactions)):
        missing = [
            c
            for c in (*_NEEDED[name], *(by if name == "recommendations" else ()))
            if c not in frame
        ]
        if missing:
            raise ValueError(f"{name} lacks the column(s) {', '.join(missing)}")
    metric = f"hr_at_{k}"
    columns = [*by, "count", "judged", "pending", "hits", metric]
    if recommendations.empty:
        return pd.DataFrame(columns=columns)
    at = pd.to_datetime(recommendations["at"], utc=True)
    until = at + pd.Timedelta(horizon)
    judged = (until <= pd.Timestamp(as_utc(now))).to_numpy()
    seen: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if not interactions.empty:
        stamps = pd.to_datetime(interactions["timestamp"], utc=True)
        frame = pd.DataFrame(
            {"user": interactions["user"].astype(str), "item": interactions["item"].astype(str)}
        )
        frame["t"] = stamps.to_numpy("datetime64[us]")
        for user, mine in frame.groupby("user", sort=False):
            seen[str(user)] = (mine["item"].to_numpy(), mine["t"].to_numpy())
    starts = at.to_numpy("datetime64[us]")
    ends = until.to_numpy("datetime64[us]")
    hits = np.zeros(len(recommendations))
    users = recommendations["user"].astype(str).tolist()
    for n, (user, items) in enumerate(zip(users, recommendations["items"], strict=True)):
        found = seen.get(user)
        if not judged[n] or found is None:
            continue
        window = (found[1] > starts[n]) & (found[1] <= ends[n])
        hits[n] = float(bool(set(found[0][window].tolist()) & set(list(items)[:k])))
    table = recommendations[list(by)].copy()
    table["judged"], table["hits"] = judged.astype("int64"), np.where(judged, hits, 0.0)
    grouped = table.groupby(list(by), sort=True, observed=True, dropna=False)
    out = grouped.agg(
        count=("judged", "size"), judged=("judged", "sum"), hits=("hits", "sum")
    ).reset_index()
    out["pending"] = out["count"] - out["judged"]
    out["hits"] = out["hits"].astype("int64")
    with np.errstate(invalid="ignore", divide="ignore"):
        out[metric] = out["hits"] / out["judged"].where(out["judged"] > 0)
    return out[columns]
