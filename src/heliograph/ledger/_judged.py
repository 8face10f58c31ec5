"""Predictions per target time, joined to the actuals that judge them.

A prediction record answers one question for one or more target times: its ``outputs`` are a
JSON object whose values are either numbers (one target, at ``target_start``) or lists of
equal length, one value per target, evenly spaced from ``target_start`` to ``target_end``
(the energy service records ``{"p10": [...], "p50": [...], "p90": [...]}`` per period). Each
(prediction, target time) becomes one row, with the actual of (service, model, target time)
beside it, or NaN while there is none.

Example::

    judged = judged_predictions(url, "price-forecast", since=t0, until=t1)
    judged[["model_version", "role", "target_time", "p50", "actual"]].head(2)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import orjson
import pandas as pd
import sqlalchemy as sa

from heliograph.core import as_utc

from ._actuals import read_actuals
from ._predictions import _ledger_engine, predictions_table

__all__ = ["ROW_KEY", "judged_predictions", "prediction_inputs"]

ROW_KEY = "_row_key"
"""The column of ``prediction_inputs(..., select=...)`` holding each input row's hash."""
_ID_COLUMNS = ("record_id", "model_name", "model_version", "role", "request_id")
_DEFAULT_LOOKBACK = timedelta(days=7)
_NAT = np.iinfo("int64").min  # pandas' NaT as int64 nanoseconds


def _read(
    url: str,
    service: str,
    since: datetime,
    until: datetime,
    lookback: timedelta,
    columns: tuple[str, ...],
    model_name: str | None,
) -> list[Any]:
    """Records of ``service`` made in ``[since - lookback, until)`` whose targets reach into
    ``[since, until)``: an indexed range on (service, at)."""
    table = predictions_table
    query = (
        sa.select(*(table.c[name] for name in columns))
        .where(table.c.service == service)
        .where(table.c.at >= as_utc(since) - lookback, table.c.at < as_utc(until))
        .where(sa.or_(table.c.target_end.is_(None), table.c.target_end >= as_utc(since)))
        .order_by(table.c.id)
    )
    if model_name is not None:
        query = query.where(table.c.model_name == model_name)
    with _ledger_engine(url, "read predictions from") as engine, engine.connect() as con:
        return list(con.execute(query).all())


def _ns(values: list[Any]) -> np.ndarray:
    """Datetimes (naive ones are UTC; None is NaT) as int64 nanoseconds, in one conversion."""
    index = pd.DatetimeIndex(pd.to_datetime(pd.Series(values, dtype=object), utc=True))
    return index.as_unit("ns").asi8


def _utc(ns: np.ndarray) -> pd.Series:
    return pd.Series(ns.view("datetime64[ns]")).dt.tz_localize("UTC")


def _codes(values: list[Any], repeat: np.ndarray) -> pd.Categorical:
    """Per-record strings repeated per target, as a categorical (no per-row string objects)."""
    codes, uniques = pd.factorize(np.array(values, dtype=object))
    return pd.Categorical.from_codes(np.repeat(codes, repeat), [str(u) for u in uniques])


def _floats(values: list[Any]) -> np.ndarray:
    try:
        return np.asarray(values, dtype="float64")
    except (TypeError, ValueError):  # a null or a string among them: NaN where not a number
        return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy("float64")


def _loads(text: str | bytes) -> Any:
    """Stored JSON, fast; rows written with ``NaN`` (Python's ``json`` writes it for a missing
    input, strict JSON has no such token) fall back to ``json``, which reads it as NaN."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _explode(rows: list[Any]) -> pd.DataFrame:
    """One row per (record, target time), one column per output key: the JSON is parsed
    record by record, everything else is built with numpy over all rows at once."""
    kept: list[Any] = []
    counts: list[int] = []
    outputs: dict[str, list[Any]] = {}
    total = 0
    for row in rows:
        data = _loads(row.outputs)
        if not isinstance(data, dict) or not data:
            continue  # not per-target numbers: nothing to judge
        lists = {k: v if isinstance(v, list) else [v] for k, v in data.items()}
        count = len(next(iter(lists.values())))
        if count == 0 or any(len(v) != count for v in lists.values()):
            continue
        for key in lists.keys() - outputs.keys():
            outputs[key] = [None] * total
        for key, values in outputs.items():
            values.extend(lists.get(key, [None] * count))
        kept.append(row)
        counts.append(count)
        total += count
    repeat = np.asarray(counts, dtype="int64")
    frame = pd.DataFrame(
        {name: _codes([getattr(r, name) for r in kept], repeat) for name in _ID_COLUMNS}
    )
    at = _ns([r.at for r in kept])
    as_of = _ns([r.as_of for r in kept])
    first = _ns([r.target_start for r in kept])
    first = np.where(first == _NAT, at, first)
    last = _ns([r.target_end for r in kept])
    last = np.where(last == _NAT, first, last)
    step = np.where(repeat > 1, (last - first) // np.maximum(repeat - 1, 1), 0)
    offsets = np.arange(total, dtype="int64") - np.repeat(np.cumsum(repeat) - repeat, repeat)
    frame["at"] = _utc(np.repeat(at, repeat))
    frame["as_of"] = _utc(np.repeat(as_of, repeat))
    frame["target_time"] = _utc(np.repeat(first, repeat) + offsets * np.repeat(step, repeat))
    for key, values in outputs.items():
        frame[key] = _floats(values)
    return frame


def judged_predictions(
    url: str,
    service: str,
    *,
    since: datetime,
    until: datetime,
    model_name: str | None = None,
    lookback: timedelta = _DEFAULT_LOOKBACK,
) -> pd.DataFrame:
    """Every prediction of ``service`` for a target time in ``[since, until)``, one row per
    (record, target time): ``record_id``, ``model_name``, ``model_version``, ``role``,
    ``request_id``, ``at``, ``as_of``, ``target_time``, one column per output key, and
    ``actual`` (NaN when none is recorded yet). Records made more than ``lookback`` before
    ``since`` are not looked at."""
    columns = (*_ID_COLUMNS, "at", "as_of", "target_start", "target_end", "outputs")
    frame = _explode(_read(url, service, since, until, lookback, columns, model_name))
    frame = frame[(frame["target_time"] >= as_utc(since)) & (frame["target_time"] < as_utc(until))]
    actuals = read_actuals(url, service, since=since, until=until, model_name=model_name)
    actuals = actuals.rename(columns={"value": "actual"})
    return frame.merge(actuals, on=["model_name", "target_time"], how="left").reset_index(drop=True)


def prediction_inputs(
    url: str,
    service: str,
    *,
    since: datetime,
    until: datetime,
    model_name: str | None = None,
    select: Callable[[Sequence[str]], Sequence[str]] | None = None,
) -> pd.DataFrame:
    """The model input rows recorded with the predictions of ``service`` made in
    ``[since, until)`` (one row per feature row), with ``model_name``, ``model_version``,
    ``role`` and the record's time ``at``. A repeated answer is recorded by its inputs' hash
    only and adds no rows.

    ``select`` picks the input columns to keep from a record's column names (default: all of
    them); with it, ``ROW_KEY`` holds a hash of each row's every input value, so that the rows
    that differ can still be counted (``frame[ROW_KEY].nunique()``) without building the
    columns nobody reads: most of the cost, for a model of hundreds of inputs."""
    columns = ("model_name", "model_version", "role", "at", "inputs")
    rows = _read(url, service, since, until, timedelta(0), columns, model_name)
    # One frame per distinct column list, not one per record: building a frame for each of
    # a monitor pass's ~1,000 small records was most of the pass's time in the demo.
    groups: dict[tuple[str, ...], tuple[list[Any], list[tuple[Any, ...]]]] = {}
    for row in rows:
        if row.inputs is None:
            continue
        data = _loads(row.inputs)
        if not isinstance(data, dict) or "columns" not in data or "data" not in data:
            continue
        values, meta = groups.setdefault(tuple(data["columns"]), ([], []))
        values.extend(data["data"])
        meta.append((*row[:3], pd.Timestamp(as_utc(row.at)), len(data["data"])))
    frames = []
    for names, (values, meta) in groups.items():
        if select is None:
            frame = pd.DataFrame(values, columns=list(names))
        else:
            kept = [n for n in select(names) if n in names]
            index = [names.index(n) for n in kept]
            frame = pd.DataFrame([[v[i] for i in index] for v in values], columns=kept)
            frame[ROW_KEY] = _row_keys(values)
        model_names, versions, roles, ats, counts = zip(*meta, strict=True)
        for column, labels in (
            ("model_name", model_names),
            ("model_version", versions),
            ("role", roles),
        ):
            frame[column] = np.repeat(np.array(labels, dtype=object), counts)
        frame["at"] = pd.DatetimeIndex(ats).repeat(counts)
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["model_name", "model_version", "role", "at"])
    return pd.concat(frames, ignore_index=True)


def _row_keys(values: list[list[Any]]) -> list[int]:
    """A hash of each row's values: equal rows, equal keys. A missing input stored as
    ``NaN`` is the one NaN object ``json`` reads it as (``_loads``), so it hashes alike
    wherever it is; a row holding a list (an input that is an array) is hashed as JSON."""
    try:
        return [hash(tuple(v)) for v in values]
    except TypeError:
        return [hash(orjson.dumps(v, option=orjson.OPT_SERIALIZE_NUMPY)) for v in values]
