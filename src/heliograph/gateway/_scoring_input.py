"""MLflow scoring input (``dataframe_split``, ``dataframe_records``, ``instances``,
``inputs``) read as the model's rows, or refused with a 400 naming the field and the rule.

Example::

    rows, columns = scoring_rows({"dataframe_records": [{"f00": 1.5, ...}]}, model.columns)
    scoring_rows({"dataframe_records": [{"a": 1}]}, ["f00", "f01"])
    # ServiceError: missing columns: f00, f01 (field: columns; rule: the model's input columns: ...)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pandas as pd

from heliograph.serving import ServiceError

__all__: list[str] = []  # the gateway's own parts: create_app assembles them

_FORMATS = "one of dataframe_split, dataframe_records, instances, inputs"


def _refused(headline: str, field: str, rule: str) -> ServiceError:
    return ServiceError(headline, status=400, field=field, rule=rule)


def json_body(body: bytes) -> Any:
    """The request body as JSON, or a 400 saying why it is not."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _refused(f"the body is not JSON: {exc}", "body", "JSON") from None


def scoring_rows(payload: Any, columns: list[str] | None) -> tuple[np.ndarray, list[str] | None]:
    """The rows of ``payload`` as a 2-D float array, in the order of ``columns`` (the model's
    input columns; ``None``: the model does not say), with their column names."""
    if not isinstance(payload, dict):
        raise _refused("the body must be a JSON object", "body", _FORMATS)
    if "dataframe_split" in payload:
        split = payload["dataframe_split"]
        if not isinstance(split, dict):
            raise _refused("dataframe_split must be an object", "dataframe_split", _SPLIT)
        names = split.get("columns")
        if names is not None and not (
            isinstance(names, list) and all(isinstance(n, str) for n in names)
        ):
            raise _refused("columns must be a list of names", "dataframe_split.columns", _SPLIT)
        names = names or columns
        rows = _matrix(split.get("data"), "dataframe_split.data", names)
        return _in_order(rows, names, columns)
    if "dataframe_records" in payload:
        return _records(payload["dataframe_records"], "dataframe_records", columns)
    for key in ("instances", "inputs"):
        if key in payload:
            data = payload[key]
            if isinstance(data, dict):  # columnar: {"column": [values]}
                return _columnar(data, key, columns)
            if isinstance(data, list) and data and isinstance(data[0], dict):
                return _records(data, key, columns)
            return _in_order(_matrix(data, key, columns), columns, columns)
    raise _refused("unknown input format", "body", _FORMATS)


_SPLIT = '{"columns": [names], "data": [[numbers], ...]}'
_RECORDS = '[{"column": number, ...}, ...]'


def _matrix(data: Any, field: str, names: list[str] | None) -> np.ndarray:
    if not isinstance(data, list) or not data:
        raise _refused(f"{field} holds no rows", field, "a non-empty list of rows")
    try:
        rows = np.asarray(data, dtype=float)
    except (ValueError, TypeError):
        raise _refused(f"{field} is not a table of numbers", field, "rows of numbers") from None
    rows = np.atleast_2d(rows)
    if rows.ndim != 2:
        raise _refused(f"{field} has {rows.ndim} dimensions", field, "rows of numbers")
    if names is not None and rows.shape[1] != len(names):
        raise _refused(
            f"{field} has {rows.shape[1]} values per row for {len(names)} columns",
            field,
            f"{len(names)} values per row: {', '.join(names)}",
        )
    return rows


def _missing(given: list[str], columns: list[str]) -> None:
    missing = [c for c in columns if c not in given]
    if missing:
        raise _refused(
            f"missing columns: {', '.join(missing)}",
            "columns",
            f"the model's input columns: {', '.join(columns)}",
        )


def _in_order(
    rows: np.ndarray, names: list[str] | None, columns: list[str] | None
) -> tuple[np.ndarray, list[str] | None]:
    if columns is None or names is None or names == columns:
        return rows, names
    _missing(names, columns)
    return rows[:, [names.index(c) for c in columns]], columns


def _frame(frame: pd.DataFrame, columns: list[str] | None) -> tuple[np.ndarray, list[str]]:
    names = [str(c) for c in frame.columns]
    if columns is not None:
        _missing(names, columns)
        frame, names = frame[columns], columns
    values = np.empty(frame.shape, dtype=float)
    for index, name in enumerate(names):
        try:
            values[:, index] = frame.iloc[:, index].to_numpy(dtype=float, na_value=np.nan)
        except (ValueError, TypeError):
            raise _refused(f"column {name} is not numeric", name, "a number") from None
    return values, names


def _records(data: Any, field: str, columns: list[str] | None) -> tuple[np.ndarray, list[str]]:
    if not isinstance(data, list) or not data or not all(isinstance(r, dict) for r in data):
        raise _refused(f"{field} holds no records", field, _RECORDS)
    return _frame(pd.DataFrame(data), columns)


def _columnar(data: dict[str, Any], field: str, columns: list[str] | None) -> Any:
    lengths = {len(v) if isinstance(v, list) else -1 for v in data.values()}
    if not data or -1 in lengths or len(lengths) != 1 or 0 in lengths:
        raise _refused(
            f"{field} is not columns of equal length", field, '{"column": [numbers], ...}'
        )
    return _frame(pd.DataFrame(data), columns)
