"""Feature rows as bytes, and back: the online store's block format.

A block is the feature rows of one entity as of one state. The columns and their dtypes
(the *schema*) are written once per materialisation and kept decoded by each reader, so a
read never parses them again (feast#3649: the registry deserialised on every read). A block
is a short header and one contiguous array per dtype: decoding is ``np.frombuffer`` and one
DataFrame per dtype, no pickle (a shared Redis must not be able to run code in a reader).

Example::

    schema = frame_schema(rows)
    decode_block(schema, encode_block(schema, rows)).equals(rows)
    # True
"""

from __future__ import annotations

import functools
import json
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__: list[str] = []  # the store's own block format: used inside features only

_HEADER = struct.Struct("<II")  # header length, row count


@dataclass(frozen=True)
class Schema:
    """The columns of a view's rows, in order, with their dtypes, grouped for the codec."""

    columns: tuple[str, ...]
    dtypes: tuple[str, ...]

    def to_json(self) -> str:
        return json.dumps({"columns": list(self.columns), "dtypes": list(self.dtypes)})

    @classmethod
    def from_json(cls, text: str | bytes) -> Schema:
        data = json.loads(text)
        return cls(tuple(data["columns"]), tuple(data["dtypes"]))

    @property
    def index(self) -> pd.Index:
        """The columns as one index object, shared by every block decoded with this schema
        (so a reader looks column names up once per schema, not once per read)."""
        cached = self.__dict__.get("_index")
        if cached is None:
            cached = pd.Index(list(self.columns))
            object.__setattr__(self, "_index", cached)
        return cached

    @property
    def groups(self) -> list[tuple[str, list[int]]]:
        """(storage kind, column positions): numeric dtypes stacked, the rest as JSON."""
        cached = self.__dict__.get("_groups")
        if cached is None:
            by_kind: dict[str, list[int]] = {}
            for i, dtype in enumerate(self.dtypes):
                by_kind.setdefault(_storage(dtype), []).append(i)
            cached = sorted(by_kind.items())
            object.__setattr__(self, "_groups", cached)
        return cached

    def split(self, kind: str, positions: list[int]) -> tuple[list[int], list[int]]:
        """Of a group's columns, those stored as they are and those restored (datetimes)."""
        cache = self.__dict__.setdefault("_split", {})
        if kind not in cache:
            dtype = np.dtype(kind)
            plain = [
                j
                for j, i in enumerate(positions)
                if pd.api.types.pandas_dtype(self.dtypes[i]) == dtype
            ]
            cache[kind] = (plain, [j for j in range(len(positions)) if j not in set(plain)])
        return cache[kind]


@functools.lru_cache(maxsize=256)
def _storage(dtype: str) -> str:
    """How a column of ``dtype`` is stored: a numpy dtype for a matrix, or ``json``."""
    kind = pd.api.types.pandas_dtype(dtype)
    if isinstance(kind, pd.DatetimeTZDtype) or (isinstance(kind, np.dtype) and kind.kind in "mM"):
        return "int64"
    if isinstance(kind, np.dtype) and kind.kind in "fiub":
        return kind.str
    return "json"


def frame_schema(frame: pd.DataFrame) -> Schema:
    return Schema(tuple(str(c) for c in frame.columns), tuple(str(t) for t in frame.dtypes))


def _as_int64(column: pd.Series) -> np.ndarray:
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        return np.asarray(column.dt.tz_convert(None).to_numpy()).view("int64")
    values = np.asarray(column.to_numpy())
    return values.view("int64") if values.dtype.kind in "mM" else values.astype("int64")


def encode_block(schema: Schema, frame: pd.DataFrame) -> bytes:
    """``frame`` (columns as in ``schema``) as one block."""
    if tuple(str(c) for c in frame.columns) != schema.columns:
        raise ValueError("the frame's columns differ from the schema's")
    buffers: list[bytes] = []
    texts: list[Any] = []
    for kind, positions in schema.groups:
        if kind == "json":
            for i in positions:
                column = frame.iloc[:, i]
                texts.append([None if pd.isna(v) else v for v in column.astype(object)])
            continue
        if kind == "int64":
            matrix = np.column_stack([_as_int64(frame.iloc[:, i]) for i in positions])
        else:
            matrix = frame.iloc[:, positions].to_numpy(dtype=np.dtype(kind))
        buffers.append(np.ascontiguousarray(matrix, dtype=np.dtype(kind)).tobytes())
    header = json.dumps(texts, default=str).encode()
    return _HEADER.pack(len(header), len(frame)) + header + b"".join(buffers)


def decode_block(schema: Schema, data: bytes) -> pd.DataFrame:
    """The rows of a block written by ``encode_block`` with the same schema."""
    size, rows = _HEADER.unpack_from(data)
    offset = _HEADER.size
    texts = iter(json.loads(data[offset : offset + size]))
    offset += size
    pieces: list[pd.DataFrame] = []
    for kind, positions in schema.groups:
        names = [schema.columns[i] for i in positions]
        if kind == "json":
            pieces.append(
                pd.DataFrame(
                    {
                        n: pd.Series(next(texts), dtype=object).astype(schema.dtypes[i])
                        for n, i in zip(names, positions, strict=True)
                    }
                )
            )
            continue
        dtype = np.dtype(kind)
        count = rows * len(positions)
        matrix = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
        matrix = matrix.reshape(rows, len(positions))
        offset += count * dtype.itemsize
        plain, others = schema.split(kind, positions)
        if plain:  # one consolidated block: slicing it later is one take, not one per column
            pieces.append(pd.DataFrame(matrix[:, plain], columns=[names[j] for j in plain]))
        if others:
            pieces.append(
                pd.DataFrame(
                    {
                        names[j]: _restore(matrix[:, j].copy(), schema.dtypes[positions[j]])
                        for j in others
                    }
                )
            )
    frame = pd.concat(pieces, axis=1) if pieces else pd.DataFrame(index=range(rows))
    return frame[list(schema.columns)].set_axis(schema.index, axis=1)


def _restore(values: np.ndarray, dtype: str) -> Any:
    kind = pd.api.types.pandas_dtype(dtype)
    if isinstance(kind, pd.DatetimeTZDtype):
        naive = values.view(f"datetime64[{kind.unit}]")
        return pd.Series(naive).dt.tz_localize(kind.tz)
    if isinstance(kind, np.dtype) and kind.kind in "mM":
        return values.view(kind)
    return values
