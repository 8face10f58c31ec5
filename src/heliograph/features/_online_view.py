"""A feature view as the online store keeps it: per entity, how far ahead it is asked, how far
back it reads.

Features as of T change only when an input row becomes known, so for one entity they are a
step function of T: constant between two consecutive ``available_at`` of its inputs (its
*states*). The store computes each state once, for every target from the state's moment to
``horizon`` past the next one, and a read picks the state in force at T. This holds for a view
whose rows for one entity use only that entity's rows and see ``as_of`` only through
``point_in_time`` / ``known_at`` (what was known then); the offline = online test checks it.

Example::

    ONLINE = OnlineView(PriceFeatures(), entity="market", horizon=timedelta(hours=48),
                        lookback=timedelta(days=9))
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pandas as pd

from ._asof import FeatureView

__all__ = ["OnlineView"]


@dataclass(frozen=True)
class OnlineView:
    """``view`` served online for each value of the column ``entity``.

    ``horizon``: the furthest target after ``as_of`` that is asked; ``lookback``: how far
    before a target the view reads its inputs (rows older than that are not read to
    materialise); ``step``: the spacing of targets (``None``: each entity's median spacing
    of the first input's time column).
    """

    view: FeatureView
    entity: str
    horizon: timedelta
    lookback: timedelta
    step: timedelta | None = None

    @property
    def ref(self) -> str:
        return self.view.ref

    def targets(
        self, step: pd.Timedelta, after: pd.Timestamp, until: pd.Timestamp
    ) -> pd.DatetimeIndex:
        """The targets on the entity's grid in ``(after, until]``."""
        first = after.floor(step) + step
        if first > until:
            return pd.DatetimeIndex([], tz="UTC").astype("datetime64[us, UTC]")
        return pd.date_range(first, until, freq=step).astype("datetime64[us, UTC]")
