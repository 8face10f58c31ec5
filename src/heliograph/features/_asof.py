"""Feature views: named feature logic over lake data, computed *as of* a moment.

A feature view answers requests: rows that say *for what* (keys and a target time) and *as of
when* (``as_of``, the moment the forecast is made). The same code serves training (many
requests, read from snapshots) and serving (one request, as of now). Leakage is ruled out by
construction: a view only sees data through ``point_in_time``, which returns a value only if
its ``available_at`` is at or before the request's ``as_of``.

Example::

    class Lagged(FeatureView):
        name, version, datasets = "lagged", "1", ("prices",)
        def compute(self, data, requests):
            out = requests.copy()
            out["price_lag_7d"] = point_in_time(data["prices"], requests, value="price",
                                                on=["market"], shift=pd.Timedelta(days=7))
            return out
    features = compute_offline(lake, Lagged(), requests, snapshots={"prices": "prices@3f9c…"})
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from heliograph.core import DataError
from heliograph.lake import Lake

__all__ = [
    "FeatureView",
    "compute_offline",
    "compute_online",
    "known_at",
    "labels_as_of",
    "point_in_time",
]

_NO_SHIFT = pd.Timedelta(0)


class FeatureView(ABC):
    """Feature logic: ``compute(data, requests)`` returns one row of features per request.

    ``data`` maps each dataset in ``datasets`` to its rows (already restricted to rows known
    by the latest ``as_of`` of the requests); ``requests`` has the key columns, ``timestamp``
    (the target time) and ``as_of``. Use ``point_in_time`` for every lookup into ``data``.
    """

    name: str
    version: str
    datasets: tuple[str, ...]
    available_column: str = "available_at"
    #: The label columns ``compute`` adds (never features), each with the column saying when
    #: its value became known: ``(("target", "target_available_at"),)``. Seen as of a request's
    #: ``as_of``, a label not known yet is missing (see ``labels_as_of``).
    labels: tuple[tuple[str, str], ...] = ()
    #: ``compute`` is exact for requests with different ``as_of`` in one call, over the data
    #: known by the latest of them (every lookup through ``point_in_time`` or as of each row),
    #: but for the ``labels``: the online store then computes many states in one call.
    one_pass: bool = False

    @abstractmethod
    def compute(self, data: Mapping[str, pd.DataFrame], requests: pd.DataFrame) -> pd.DataFrame:
        """One row per request (same index), the request's columns first."""

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


def labels_as_of(view: FeatureView, rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with each of ``view.labels`` missing where it was not known at the row's
    ``as_of``: what ``compute`` gives for that request alone."""
    for label, available in view.labels:
        if label not in rows.columns or available not in rows.columns:
            continue
        unknown = ~(rows[available] <= rows["as_of"]).to_numpy(dtype=bool)
        if unknown.any():
            rows = rows.copy()
            rows.loc[unknown, label] = np.nan
            rows.loc[unknown, available] = pd.NaT
    return rows


def known_at(
    frame: pd.DataFrame, as_of: pd.Timestamp, available_column: str = "available_at"
) -> pd.DataFrame:
    """The rows of ``frame`` that were known at ``as_of``."""
    return frame.loc[frame[available_column] <= as_of]


def point_in_time(
    data: pd.DataFrame,
    requests: pd.DataFrame,
    *,
    value: str,
    on: Sequence[str] = (),
    shift: pd.Timedelta = _NO_SHIFT,
    time_column: str = "timestamp",
    available_column: str = "available_at",
) -> pd.Series:
    """For each request, ``value`` at ``request.timestamp - shift`` as known at ``request.as_of``.

    NaN where no row matches or the matching row became available after ``as_of``. When
    several versions of a row exist, the newest one available at ``as_of`` wins.
    """
    keys = [*on, time_column]
    missing = [c for c in [*keys, value, available_column] if c not in data.columns]
    if missing:
        raise DataError(
            f"point_in_time: data has no column {missing[0]!r}",
            field=missing[0],
            rule="data has the key, time, value and availability columns",
        )
    left = requests[[*on, time_column, "as_of"]].copy()
    left[time_column] = left[time_column] - shift
    left["__row"] = np.arange(len(left))
    right = data[[*keys, value, available_column]]
    merged = left.merge(right, on=keys, how="inner")
    merged = merged.loc[merged[available_column] <= merged["as_of"]]
    if merged["__row"].duplicated().any():
        merged = merged.sort_values(available_column).drop_duplicates("__row", keep="last")
    out = np.full(len(left), np.nan)
    out[merged["__row"].to_numpy()] = merged[value].to_numpy(dtype=float)
    return pd.Series(out, index=requests.index, name=value)


def _validate_requests(view: FeatureView, requests: pd.DataFrame) -> None:
    for column in ("timestamp", "as_of"):
        if column not in requests.columns:
            raise DataError(
                f"feature view {view.ref}: requests need a {column!r} column",
                field=column,
                rule="requests say what (timestamp) and when (as_of)",
            )
        if getattr(requests[column].dt, "tz", None) is None:
            raise DataError(
                f"feature view {view.ref}: requests.{column} must be tz-aware (UTC)",
                field=column,
                rule="timestamps are timezone-aware",
            )


def _inputs(
    lake: Lake, view: FeatureView, snapshots: Mapping[str, str] | None, latest_as_of: pd.Timestamp
) -> dict[str, pd.DataFrame]:
    data: dict[str, pd.DataFrame] = {}
    cutoff = latest_as_of.isoformat()
    for name in view.datasets:
        snapshot = (snapshots or {}).get(name)
        data[name] = lake.read(
            name, snapshot=snapshot, where=f"\"{view.available_column}\" <= '{cutoff}'"
        )
    return data


def compute_offline(
    lake: Lake,
    view: FeatureView,
    requests: pd.DataFrame,
    *,
    snapshots: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Features for many requests (training, backtests), from snapshots when given."""
    _validate_requests(view, requests)
    if requests.empty:
        return view.compute({name: pd.DataFrame() for name in view.datasets}, requests)
    data = _inputs(lake, view, snapshots, requests["as_of"].max())
    return view.compute(data, requests)


def compute_online(lake: Lake, view: FeatureView, requests: pd.DataFrame) -> pd.DataFrame:
    """Features for requests as of now (serving): the same logic over the live lake."""
    return compute_offline(lake, view, requests, snapshots=None)
