"""The online store: features as of T for one entity, read from materialised states.

``materialize`` (the job of the same name) computes, for each online view and entity, the
feature rows of every state (see ``OnlineView``) within the retention; ``features`` reads the
state in force at ``as_of`` and slices the targets asked for. A read is one small key (the
head: generation, status, what the lake held) and, the first time, the entity's index and
the block; the schema is decoded once per materialisation, never per read (feast#3649), and
no history is joined at read time (feast#3003).

What the store cannot vouch for is answered from the lake with ``compute_offline`` (the same
values, slower) and says why: ``source="lake"`` and a ``reason`` — an ``as_of`` before the
retention, targets past what was materialised, or partitions published since the last
materialisation (the store is *behind*). ``status`` says whether the last materialisation
failed, for a gateway's readiness.

Example::

    store = OnlineStore.open(project)
    got = store.features(ONLINE, "GB", as_of, horizon=timedelta(hours=24))
    got.source, got.rows.shape, got.freshness.age("energy_prices")
    # ('online', (48, 331), datetime.timedelta(seconds=82800))
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd

from heliograph.core import Project
from heliograph.lake import Lake, open_lake

from ._asof import compute_offline
from ._freshness import InputFreshness, freshness, input_times
from ._online_backends import OnlineBackend, open_backend
from ._online_codec import Schema, decode_block
from ._online_view import OnlineView

__all__ = ["OnlineFeatures", "OnlineStatus", "OnlineStore", "online_requests"]

_BLOCKS_KEPT = 256


def to_us(moment: Any) -> int:
    """A moment as integer microseconds since the epoch (UTC)."""
    stamp = pd.Timestamp(moment)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    try:
        return int(stamp.value // 1000)
    except OverflowError:  # outside nanoseconds' 1677-2262, held in microseconds: still exact
        return int(stamp.as_unit("us").asm8.view("i8"))


def from_us(value: int | None) -> datetime | None:
    return None if value is None else pd.Timestamp(value * 1000, tz="UTC").to_pydatetime()


def online_requests(
    online: OnlineView, entity: Any, timestamps: pd.DatetimeIndex, as_of: Any
) -> pd.DataFrame:
    """The requests for ``entity``'s targets ``timestamps`` as of ``as_of``, as a service makes
    them (what ``compute_offline`` is given offline and the store computes online)."""
    requests = pd.DataFrame(
        {online.entity: entity, "timestamp": timestamps, "as_of": pd.Timestamp(as_of)}
    )
    requests["timestamp"] = requests["timestamp"].astype("datetime64[us, UTC]")
    requests["as_of"] = requests["as_of"].astype("datetime64[us, UTC]")
    return requests


def lake_fingerprint(lake: Lake, online: OnlineView) -> dict[str, str]:
    """What the lake holds of the view's inputs: a hash of each dataset's file names."""
    return {
        name: files_fingerprint([str(p.relative_to(lake.root)) for p in lake.files(name)])
        for name in online.view.datasets
    }


def files_fingerprint(names: list[str]) -> str:
    """A hash of a dataset's file names (sorted, as ``Lake.files`` lists them)."""
    return hashlib.sha1("\n".join(names).encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class OnlineStatus:
    """The last materialisation of one view: ``state`` is ``ok``, ``failed`` or ``never``;
    ``behind``: partitions were published since (``None``: not looked at)."""

    view: str
    state: Literal["ok", "failed", "never"]
    materialized_at: datetime | None = None
    retained_from: datetime | None = None
    error: str = ""
    behind: bool | None = None
    generation: int = 0

    @property
    def ready(self) -> bool:
        """The store can answer as of now for this view."""
        return self.state == "ok" and not self.behind


@dataclass(frozen=True)
class OnlineFeatures:
    """Feature rows as of one moment for one entity, and where they came from.

    ``state``: what the rows were computed from (view, entity, the state's moment and the
    store's generation), equal for every ``as_of`` that sees the same inputs: the key under
    which an answer may be remembered (``None`` from the lake).
    """

    rows: pd.DataFrame
    source: Literal["online", "lake"]
    freshness: InputFreshness
    status: OnlineStatus
    reason: str = ""
    state: tuple[Any, ...] | None = None


@dataclass
class _Index:
    step: pd.Timedelta
    first: dict[str, int | None]
    ats: np.ndarray
    states: list[list[Any]]  # [at_us, block key, {dataset: newest_us}, from_us, to_us, schema]
    _moments: dict[Any, dict[str, datetime | None]] = field(default_factory=dict)

    def firsts(self) -> dict[str, datetime | None]:
        """When each input first became known (read once per index)."""
        found = self._moments.get("first")
        if found is None:
            found = self._moments["first"] = {n: from_us(v) for n, v in self.first.items()}
        return dict(found)

    def newest(self, position: int) -> dict[str, datetime | None]:
        """The newest row of each input known in state ``position`` (read once per state)."""
        found = self._moments.get(position)
        if found is None:
            newest = self.states[position][2]
            found = self._moments[position] = {n: from_us(v) for n, v in newest.items()}
        return dict(found)


@dataclass
class _Reader:
    generation: int = -1
    indexes: dict[str, _Index | None] = field(default_factory=dict)
    lake_checked: float = -1e18
    behind: bool = False


class OnlineStore:
    """Materialised feature states in a backend, under ``prefix``, for ``retention``.

    ``lake_check_seconds``: how often a reader compares the lake's files with what was
    materialised (listing them costs a few milliseconds, so not on every read).
    """

    def __init__(
        self,
        backend: OnlineBackend,
        lake: Lake,
        *,
        prefix: str = "helio:",
        retention: timedelta = timedelta(days=1),
        lake_check_seconds: float = 1.0,
    ) -> None:
        self.backend = backend
        self.lake = lake
        self.prefix = prefix
        self.retention = retention
        self.lake_check_seconds = lake_check_seconds
        self._readers: dict[str, _Reader] = {}
        self._blocks: OrderedDict[str, tuple[pd.DataFrame, np.ndarray]] = OrderedDict()
        self._schemas: dict[str, Schema] = {}
        self._loading: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    @classmethod
    def open(cls, project: Project, **kwargs: Any) -> OnlineStore:
        """The project's store, as ``[online_store]`` configures it."""
        settings = project.settings.online_store
        backend = open_backend(settings.backend, settings.url, project.state_dir)
        prefix = settings.prefix or f"helio:{project.settings.project.name}:"
        return cls(
            backend,
            open_lake(project),
            prefix=prefix,
            retention=timedelta(days=settings.retention_days),
            **kwargs,
        )

    def close(self) -> None:
        self.backend.close()

    # -- keys ------------------------------------------------------------------------------
    def key(self, online: OnlineView, *parts: str) -> str:
        return ":".join([self.prefix + online.ref, *parts])

    def head(self, online: OnlineView) -> dict[str, Any] | None:
        raw = self.backend.get(self.key(online, "head"))
        return None if raw is None else json.loads(raw)

    def clear(self, online: OnlineView) -> None:
        """Forget everything materialised for ``online``."""
        self.backend.write({}, self.backend.keys(self.key(online, "")))
        self._readers.pop(online.ref, None)

    # -- status ----------------------------------------------------------------------------
    def status(self, online: OnlineView, *, check_lake: bool = True) -> OnlineStatus:
        """The last materialisation of ``online`` and (``check_lake``) whether it is behind."""
        head = self.head(online)
        if head is None:
            return OnlineStatus(online.ref, "never", behind=True if check_lake else None)
        behind = lake_fingerprint(self.lake, online) != head["fingerprint"] if check_lake else None
        return self._status(online, head, behind)

    def _status(
        self, online: OnlineView, head: dict[str, Any], behind: bool | None
    ) -> OnlineStatus:
        return OnlineStatus(
            online.ref,
            head["status"],
            materialized_at=from_us(head.get("materialized_at")),
            retained_from=from_us(head.get("floor")),
            error=head.get("error", ""),
            behind=behind,
            generation=head["generation"],
        )

    # -- reading ---------------------------------------------------------------------------
    def first_known(self, online: OnlineView, entity: Any) -> dict[str, datetime | None] | None:
        """When each input of ``entity`` first became known (all ``None``: the entity has no
        data), from the last materialisation; ``None`` when the store cannot say (nothing
        materialised, or partitions published since). Cheap: a caller refuses an unknown
        entity or an ``as_of`` before its data without computing anything."""
        head = self.head(online)
        if head is None or head["status"] != "ok":
            return None
        reader = self._reader(online, head)
        if reader.behind:
            return None
        index = self._index(online, reader, entity)
        if index is None:
            return dict.fromkeys(online.view.datasets)
        return {name: from_us(index.first.get(name)) for name in online.view.datasets}

    def state_of(
        self, online: OnlineView, entity: Any, as_of: datetime, *, horizon: timedelta
    ) -> tuple[tuple[Any, ...], tuple[int, int]] | None:
        """(``state``, (first, last target in microseconds)) of what :meth:`features` would
        read from the store for these arguments, without reading any rows; ``None`` when it
        would not answer from the store, or cannot tell without looking at the lake (a
        caller then calls :meth:`features`). For a memory of answers keyed by state."""
        head = self.head(online)
        reader = None if head is None else self._readers.get(online.ref)
        if (
            head is None
            or reader is None
            or reader.generation != head["generation"]
            or reader.behind
            or time.monotonic() - reader.lake_checked >= self.lake_check_seconds
        ):
            return None
        index = reader.indexes.get(str(entity))
        if index is None:
            return None
        stamp = pd.Timestamp(as_of).tz_convert("UTC")
        at, until = to_us(stamp), to_us(stamp + pd.Timedelta(horizon))
        position = int(np.searchsorted(index.ats, at, side="right")) - 1
        if position < 0 or until > index.states[position][4]:
            return None
        step = int(index.step / pd.Timedelta(microseconds=1))
        first, last = (at // step + 1) * step, (until // step) * step
        if first > last:
            return None
        state = index.states[position]
        return (online.ref, entity, state[0], head["generation"]), (first, last)

    def features(
        self, online: OnlineView, entity: Any, as_of: datetime, *, horizon: timedelta
    ) -> OnlineFeatures:
        """Rows for ``entity``'s targets in ``(as_of, as_of + horizon]``, as of ``as_of``."""
        try:
            return self._features(online, entity, as_of, horizon)
        except _Moved:  # a materialisation replaced the state between two reads: once more
            self._readers.pop(online.ref, None)
            return self._features(online, entity, as_of, horizon)

    def _features(
        self, online: OnlineView, entity: Any, as_of: datetime, horizon: timedelta
    ) -> OnlineFeatures:
        stamp = pd.Timestamp(as_of).tz_convert("UTC")
        until = stamp + pd.Timedelta(horizon)
        head = self.head(online)
        if head is None:
            return self._from_lake(online, entity, stamp, until, "nothing materialised yet", None)
        reader = self._reader(online, head)
        status = self._status(online, head, reader.behind)
        if reader.behind:
            reason = "partitions were published since the last materialisation"
            return self._from_lake(online, entity, stamp, until, reason, status)
        index = self._index(online, reader, entity)
        if index is None:
            reason = f"{online.entity} {entity!r} was not materialised"
            return self._from_lake(online, entity, stamp, until, reason, status)
        at = to_us(stamp)
        position = int(np.searchsorted(index.ats, at, side="right")) - 1
        if position < 0:
            reason = "as_of is before the store's retention"
            return self._from_lake(online, entity, stamp, until, reason, status)
        state = index.states[position]
        if to_us(until) > state[4]:
            reason = "targets after what was materialised"
            return self._from_lake(online, entity, stamp, until, reason, status)
        schema = self._schema(online, state[5])
        block, times = self._block(schema, state[1])
        first, last = np.searchsorted(times, [at, to_us(until)], side="right")
        # the schema's one column index: a reader looks column names up once per schema
        rows = block.iloc[first:last].reset_index(drop=True).set_axis(schema.index, axis=1)
        rows["as_of"] = _moments(stamp, len(rows), block["as_of"].dtype, rows.index)
        fresh = InputFreshness(
            as_of=stamp.to_pydatetime(),
            entity={online.entity: entity},
            newest=index.newest(position),
            first=index.firsts(),
        )
        key = (online.ref, entity, state[0], head["generation"])
        return OnlineFeatures(rows, "online", fresh, status, state=key)

    def _reader(self, online: OnlineView, head: dict[str, Any]) -> _Reader:
        reader = self._readers.get(online.ref)
        if reader is None or reader.generation != head["generation"]:
            reader = _Reader(head["generation"])
            self._readers[online.ref] = reader
        now = time.monotonic()
        if now - reader.lake_checked >= self.lake_check_seconds:
            reader.behind = lake_fingerprint(self.lake, online) != head["fingerprint"]
            reader.lake_checked = now
        return reader

    def _index(self, online: OnlineView, reader: _Reader, entity: Any) -> _Index | None:
        name = str(entity)
        if name not in reader.indexes:
            raw = self.backend.get(self.key(online, "index", name))
            if raw is None:
                reader.indexes[name] = None
            else:
                data = json.loads(raw)
                states = data["states"]
                reader.indexes[name] = _Index(
                    pd.Timedelta(microseconds=data["step"]),
                    data["first"],
                    np.array([s[0] for s in states], dtype="int64"),
                    states,
                )
        return reader.indexes[name]

    def _schema(self, online: OnlineView, schema_id: str) -> Schema:
        """A block's schema, decoded once (schemas are named by their hash: never change)."""
        found = self._schemas.get(schema_id)
        if found is None:
            raw = self.backend.get(self.key(online, "schema", schema_id))
            if raw is None:
                raise _Moved
            found = self._schemas[schema_id] = Schema.from_json(raw)
        return found

    def _block(self, schema: Schema, key: str) -> tuple[pd.DataFrame, np.ndarray]:
        with self._lock:
            found = self._blocks.get(key)
            if found is not None:
                self._blocks.move_to_end(key)
                return found
            # One decode per block: readers arriving together (every question right after a
            # materialisation reads the new state) wait for the first instead of decoding too.
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:
            with self._lock:
                found = self._blocks.get(key)
            if found is not None:
                return found
            try:
                return self._decode(schema, key)
            finally:
                with self._lock:
                    self._loading.pop(key, None)

    def _decode(self, schema: Schema, key: str) -> tuple[pd.DataFrame, np.ndarray]:
        raw = self.backend.get(key)
        if raw is None:  # replaced by a newer materialisation since the head was read
            raise _Moved
        frame = decode_block(schema, raw)
        stamps = pd.DatetimeIndex(frame["timestamp"]).tz_convert(None).as_unit("us")
        block = (frame, stamps.asi8)  # the targets in microseconds, for slicing
        with self._lock:
            self._blocks[key] = block
            while len(self._blocks) > _BLOCKS_KEPT:
                self._blocks.popitem(last=False)
        return block

    def _from_lake(
        self,
        online: OnlineView,
        entity: Any,
        as_of: pd.Timestamp,
        until: pd.Timestamp,
        reason: str,
        status: OnlineStatus | None,
    ) -> OnlineFeatures:
        """The same rows computed from the lake (``compute_offline``), and why."""
        step = online.step or entity_steps(self.lake, online).get(entity, pd.Timedelta(hours=1))
        stamps = online.targets(pd.Timedelta(step), as_of, until)
        requests = online_requests(online, entity, stamps, as_of)
        rows = compute_offline(self.lake, online.view, requests)
        times = input_times(self.lake, online.view, on=online.entity)
        fresh = freshness(times, {online.entity: entity}, as_of.to_pydatetime())
        return OnlineFeatures(
            rows, "lake", fresh, status or OnlineStatus(online.ref, "never"), reason=reason
        )


def _moments(stamp: pd.Timestamp, rows: int, dtype: Any, index: pd.Index) -> Any:
    """``rows`` times the moment ``stamp`` as a column of ``dtype`` (the block's ``as_of``)."""
    if isinstance(dtype, pd.DatetimeTZDtype):
        naive = stamp.tz_convert(None).as_unit(dtype.unit).asm8
        values = pd.DatetimeIndex(np.full(rows, naive)).tz_localize(dtype.tz)
        return pd.Series(values, index=index)
    return pd.Series(stamp, index=index).astype(dtype)


class _Moved(Exception):
    """A block was replaced between reading the head and reading it."""


def entity_steps(lake: Lake, online: OnlineView) -> dict[Any, pd.Timedelta]:
    """Each entity's median spacing of the first input's time column."""
    dataset = online.view.datasets[0]
    time_column = lake.dataset(dataset).time_column
    entity = online.entity
    found = lake.query(
        f'SELECT "{entity}" AS entity, median(d) AS step FROM (SELECT "{entity}",'
        f' epoch("{time_column}") - epoch(lag("{time_column}") OVER (PARTITION BY "{entity}"'
        f' ORDER BY "{time_column}")) AS d FROM "{dataset}") WHERE d > 0 GROUP BY 1'
    )
    return {
        e: pd.Timedelta(seconds=float(s))
        for e, s in zip(found["entity"], found["step"], strict=True)
    }
