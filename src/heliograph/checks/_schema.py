"""The schema check: does a batch have the dataset's columns, and do its values fit their types?

Every dataset declares its columns (``name = type``). A batch is converted to those types; a
value that cannot be converted, a missing column or an undeclared column fails the check and
the report names the column, the rule and example rows (``row`` counts from 1 in the batch).

Example::

    table, result = conform(frame, {"market": "string", "price": "double"})
    result.success
    # True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyarrow as pa

from heliograph.core import CheckError

from ._result import CheckResult

__all__ = ["COLUMN_TYPES", "arrow_schema", "conform", "to_arrow"]

COLUMN_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "double": pa.float64(),
    "bigint": pa.int64(),
    "boolean": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}
_MAX_EXAMPLES = 5


def arrow_schema(columns: Mapping[str, str]) -> pa.Schema:
    """The Arrow schema for declared ``columns``; an unknown type is a CheckError."""
    fields = []
    for name, kind in columns.items():
        if kind not in COLUMN_TYPES:
            raise CheckError(
                f"column {name!r} has unknown type {kind!r}",
                field=name,
                rule="type is one of " + ", ".join(COLUMN_TYPES),
            )
        fields.append(pa.field(name, COLUMN_TYPES[kind]))
    return pa.schema(fields)


def _convert(series: pd.Series, kind: str) -> tuple[pd.Series, pd.Series]:
    """(converted values, mask of values that could not be converted)."""
    present = series.notna()
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        present &= series.astype("string").str.strip().ne("").fillna(False).astype(bool)
    if kind == "string":
        converted = series.astype("string").where(series.notna(), None)
        return converted, pd.Series(False, index=series.index)
    if kind in ("double", "bigint"):
        if pd.api.types.is_bool_dtype(series.dtype):
            return series.where(False), present
        converted = pd.to_numeric(series, errors="coerce")
        bad = present & converted.isna()
        if kind == "bigint":
            fractional = converted.notna() & (converted != converted.round())
            bad |= fractional
            converted = converted.where(~bad).astype("Int64")
        else:
            converted = converted.astype("float64")
        return converted, bad
    if kind == "timestamp":
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            converted = series
            if getattr(series.dt, "tz", None) is None:
                converted = series.dt.tz_localize("UTC")
            return converted.dt.tz_convert("UTC").astype("datetime64[us, UTC]"), pd.Series(
                False, index=series.index
            )
        converted = pd.to_datetime(series, errors="coerce", utc=True, format="mixed")
        return converted.astype("datetime64[us, UTC]"), present & converted.isna()
    if kind == "boolean":
        if pd.api.types.is_bool_dtype(series.dtype):
            return series, pd.Series(False, index=series.index)
        words = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
        converted = series.astype("string").str.strip().str.lower().map(words)
        return converted.astype("boolean"), present & converted.isna()
    raise CheckError(f"unknown column type {kind!r}", rule="one of " + ", ".join(COLUMN_TYPES))


def conform(frame: pd.DataFrame, columns: Mapping[str, str]) -> tuple[pa.Table | None, CheckResult]:
    """Convert ``frame`` to the declared ``columns``; None and a failed result when it cannot."""
    schema = arrow_schema(columns)
    label = "schema(" + ", ".join(f"{k}: {v}" for k, v in columns.items()) + ")"
    missing = [c for c in columns if c not in frame.columns]
    extra = [str(c) for c in frame.columns if c not in columns]
    rows = len(frame)
    if missing or extra:
        notes = []
        if missing:
            notes.append(
                "missing column" + ("s " if len(missing) > 1 else " ") + ", ".join(missing)
            )
        if extra:
            notes.append("undeclared column" + ("s " if len(extra) > 1 else " ") + ", ".join(extra))
        examples: list[dict[str, Any]] = [
            {"column": c, "rule": "declared column is present"} for c in missing
        ] + [{"column": c, "rule": "column is declared for the dataset"} for c in extra]
        return None, CheckResult(
            label,
            False,
            element_count=rows,
            unexpected_count=rows,
            examples=examples,
            note="; ".join(notes),
        )
    converted: dict[str, pd.Series] = {}
    bad_any = pd.Series(False, index=frame.index)
    examples = []
    notes = []
    for name, kind in columns.items():
        values, bad = _convert(frame[name], kind)
        converted[name] = values
        if bad.any():
            bad_any |= bad
            positions = [i for i, flag in enumerate(bad.to_numpy()) if flag][:_MAX_EXAMPLES]
            notes.append(f"{int(bad.sum())} values of {name} are not {kind}")
            examples += [
                {
                    "column": name,
                    "row": i + 1,
                    "value": str(frame[name].iloc[i]),
                    "rule": f"value is {kind}",
                }
                for i in positions
            ]
    unexpected = int(bad_any.sum())
    if unexpected:
        return None, CheckResult(
            label,
            False,
            element_count=rows,
            unexpected_count=unexpected,
            examples=examples[: 2 * _MAX_EXAMPLES],
            note="; ".join(notes),
        )
    table = pa.Table.from_arrays(
        [to_arrow(converted[f.name], f.type) for f in schema], schema=schema
    )
    return table, CheckResult(label, True, element_count=rows)


def to_arrow(series: pd.Series, kind: pa.DataType) -> pa.Array:
    """One pandas column as an Arrow array of ``kind`` (timestamps kept in UTC)."""
    if pa.types.is_timestamp(kind):
        naive = series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
        return pa.array(naive, type=pa.timestamp("us"), from_pandas=True).cast(kind)
    if kind == pa.string():
        values = series.astype(object).where(series.notna(), None).to_numpy()
        return pa.array(values, type=kind, from_pandas=True)
    return pa.array(series.to_numpy(dtype=object, na_value=None), type=kind, from_pandas=True)
