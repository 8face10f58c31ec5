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

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import orjson
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from heliograph.core import as_utc

from ._actuals import read_actuals
from ._ledger import LedgerError, _metadata
from ._predictions import _engine, _first_line, predictions_table

__all__ = ["judged_predictions", "prediction_inputs"]

_ID_COLUMNS = ("record_id", "model_name", "model_version", "role", "request_id")
_DEFAULT_LOOKBACK = timedelta(days=7)


def _utc(values: Any) -> pd.Series:
    return pd.to_datetime(pd.Series(values), utc=True)


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
    engine = _engine(url)
    try:
        _metadata.create_all(engine)
        with engine.connect() as con:
            return list(con.execute(query).all())
    except (SQLAlchemyError, OSError) as exc:
        where = engine.url.render_as_string(hide_password=True)
        message = f"cannot read the prediction ledger at {where}: {_first_line(exc)}"
        raise LedgerError(message, field="ledger.url", hint="is the database reachable?") from None
    finally:
        engine.dispose()


def _targets(start: Any, end: Any, at: Any, count: int) -> np.ndarray:
    """``count`` target times evenly spaced from ``start`` to ``end`` (``at`` without them)."""
    first = pd.Timestamp(as_utc(start if start is not None else at))
    if count == 1 or end is None:
        return np.array([first] * count, dtype=object)
    step = (pd.Timestamp(as_utc(end)) - first) / (count - 1)
    return np.array([first + i * step for i in range(count)], dtype=object)


def _explode(rows: list[Any]) -> pd.DataFrame:
    """One row per (record, target time), one column per output key."""
    ids: dict[str, list[Any]] = {name: [] for name in (*_ID_COLUMNS, "at", "as_of")}
    targets: list[np.ndarray] = []
    outputs: dict[str, list[Any]] = {}
    total = 0
    for row in rows:
        data = orjson.loads(row.outputs)
        if not isinstance(data, dict) or not data:
            continue  # not per-target numbers: nothing to judge
        lists = {k: v if isinstance(v, list) else [v] for k, v in data.items()}
        count = max(len(v) for v in lists.values())
        if any(len(v) != count for v in lists.values()):
            continue
        for name in _ID_COLUMNS:
            ids[name].extend([getattr(row, name)] * count)
        ids["at"].extend([row.at] * count)
        ids["as_of"].extend([row.as_of] * count)
        targets.append(_targets(row.target_start, row.target_end, row.at, count))
        for key in lists.keys() - outputs.keys():
            outputs[key] = [None] * total
        for key, values in outputs.items():
            values.extend(lists.get(key, [None] * count))
        total += count
    frame = pd.DataFrame({name: values for name, values in ids.items()})
    frame["at"] = _utc(frame["at"])
    frame["as_of"] = _utc(frame["as_of"])
    frame["target_time"] = _utc(np.concatenate(targets) if targets else [])
    for key, values in outputs.items():
        frame[key] = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
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
) -> pd.DataFrame:
    """The model input rows recorded with the predictions of ``service`` made in
    ``[since, until)`` (one row per feature row), with ``model_name``, ``model_version``,
    ``role`` and the record's time ``at``. A repeated answer is recorded by its inputs' hash
    only and adds no rows."""
    columns = ("model_name", "model_version", "role", "at", "inputs")
    rows = _read(url, service, since, until, timedelta(0), columns, model_name)
    frames = []
    for row in rows:
        if row.inputs is None:
            continue
        data = orjson.loads(row.inputs)
        if not isinstance(data, dict) or "columns" not in data or "data" not in data:
            continue
        frame = pd.DataFrame(data["data"], columns=data["columns"])
        frame["model_name"], frame["model_version"], frame["role"] = row[:3]
        frame["at"] = pd.Timestamp(as_utc(row.at))
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["model_name", "model_version", "role", "at"])
    return pd.concat(frames, ignore_index=True)
