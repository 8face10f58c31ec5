"""How fresh a feature view's inputs were *as of* a moment: a property of the features at T.

Features as of T can only be as good as the newest input known at T. For each input dataset,
``InputTimes`` holds when its rows became known (their ``available_at``), per entity (a
market, a user); ``freshness`` turns that into what one answer saw: for each input, the newest
moment at or before T at which something became known (``None``: nothing yet), and which
features had no value. Reading it from the whole dataset, not from a window cached for
serving, makes it depend on T and the lake only, never on what was asked before.

Example::

    times = input_times(lake, PriceFeatures(), on="market")
    state = freshness(times, {"market": "GB"}, as_of)
    state.age("energy_prices")
    # datetime.timedelta(seconds=82800)
    state.with_missing(rows, feature_columns(rows)).missing
    # ('price_lag_1d', ...)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from heliograph.lake import Lake

from ._asof import FeatureView
from ._columns import column_positions

__all__ = ["InputFreshness", "InputTimes", "freshness", "input_times"]


def _stamp(value: datetime) -> np.datetime64:
    return np.datetime64(pd.Timestamp(value).tz_convert(None).to_datetime64(), "us")


def _moment(value: np.datetime64) -> datetime:
    return pd.Timestamp(value).tz_localize("UTC").to_pydatetime()


@dataclass(frozen=True)
class InputTimes:
    """When the rows of one input dataset became known: sorted distinct times per entity."""

    dataset: str
    times: Mapping[Any, np.ndarray]  # entity value -> sorted datetime64[us] (UTC, naive)

    def first(self, entity: Any) -> datetime | None:
        """When the first row for ``entity`` became known (``None``: never)."""
        found = self.times.get(entity)
        return None if found is None or not len(found) else _moment(found[0])

    def newest(self, entity: Any, as_of: datetime) -> datetime | None:
        """The newest moment at or before ``as_of`` at which a row for ``entity`` became known."""
        found = self.times.get(entity)
        if found is None:
            return None
        index = int(np.searchsorted(found, _stamp(as_of), side="right"))
        return _moment(found[index - 1]) if index else None


def input_times(lake: Lake, view: FeatureView, *, on: str) -> dict[str, InputTimes]:
    """Each input of ``view``: when its rows became known, per value of the column ``on``.

    One pass over the whole dataset (distinct times only): read it again when the lake changes.
    """
    column = view.available_column
    found: dict[str, InputTimes] = {}
    for name in view.datasets:
        frame = lake.query(f'SELECT DISTINCT "{on}", "{column}" FROM "{name}"')
        stamps = pd.to_datetime(frame[column], utc=True).dt.tz_convert(None)
        frame = frame.assign(**{column: stamps.to_numpy(dtype="datetime64[us]")})
        times = {
            entity: np.sort(group[column].to_numpy(dtype="datetime64[us]"))
            for entity, group in frame.groupby(on, sort=False)
        }
        found[name] = InputTimes(name, times)
    return found


@dataclass(frozen=True)
class InputFreshness:
    """What the features as of ``as_of`` for ``entity`` saw of their inputs.

    ``newest``: for each input dataset, the newest moment at or before ``as_of`` at which one
    of its rows became known (``None``: none had yet); ``first``: when each first did;
    ``missing``: the features without a value in at least one row.
    """

    as_of: datetime
    entity: Mapping[str, Any]
    newest: Mapping[str, datetime | None]
    first: Mapping[str, datetime | None]
    missing: tuple[str, ...] = ()

    def age(self, dataset: str) -> timedelta | None:
        """How old the newest ``dataset`` input was at ``as_of`` (``None``: there was none)."""
        newest = self.newest[dataset]
        return None if newest is None else self.as_of - newest

    @property
    def unknown(self) -> list[str]:
        """The inputs of which nothing was known yet at ``as_of``."""
        return [name for name, newest in self.newest.items() if newest is None]

    @property
    def never(self) -> bool:
        """Nothing of any input exists for ``entity``, at any time."""
        return all(first is None for first in self.first.values())

    @property
    def known_from(self) -> datetime | None:
        """The first moment at which every input had something known (``None``: never)."""
        if any(first is None for first in self.first.values()):
            return None
        return max(first for first in self.first.values() if first is not None)

    def stale(self, tolerance: timedelta) -> list[str]:
        """The inputs whose newest row was older than ``tolerance`` at ``as_of``."""
        ages = {name: self.age(name) for name in self.newest}
        return [name for name, age in ages.items() if age is not None and age > tolerance]

    def at(self, as_of: datetime) -> InputFreshness:
        """The same inputs seen from ``as_of`` (an answer that holds for several moments)."""
        return replace(self, as_of=as_of)

    def with_missing(self, rows: pd.DataFrame, columns: Sequence[str]) -> InputFreshness:
        """This state with the features of ``columns`` that ``rows`` lack a value for."""
        positions = column_positions(rows.columns, columns, missing_ok=True)  # -1: rows lack it
        found = positions >= 0
        lacking = ~found
        if len(rows) and found.any():
            lacking[found] = rows.isna().to_numpy().any(axis=0)[positions[found]]
        missing = sorted(str(c) for c, lack in zip(columns, lacking, strict=True) if lack)
        return replace(self, missing=tuple(missing))


def freshness(
    times: Mapping[str, InputTimes], entity: Mapping[str, Any], as_of: datetime
) -> InputFreshness:
    """The inputs as of ``as_of`` for ``entity`` (one key column and its value)."""
    (value,) = entity.values()
    return InputFreshness(
        as_of=as_of,
        entity=dict(entity),
        newest={name: t.newest(value, as_of) for name, t in times.items()},
        first={name: t.first(value) for name, t in times.items()},
    )
