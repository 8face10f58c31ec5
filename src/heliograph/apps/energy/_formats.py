"""Loaders that turn public electricity-price files into the energy datasets.

Two formats are read, each into ``{"energy_prices": ..., "energy_forecasts": ...}`` with the
columns, dtypes and row order of the simulator's output:

- :func:`read_epf`: the EPF open-access benchmark CSV (Lago et al., Applied Energy 2021);
- :func:`read_long`: a plain long table (CSV or Parquet) with ``timestamp``, ``market``,
  ``price`` and any numeric day-ahead forecast columns.

Every problem with a file is a :class:`~heliograph.core.SourceError` that names the
file, the field and the rule, and for a bad value its first line (CSV, counting the header as
line 1) or row (Parquet, 1-based) and the value itself.

Example::

    data = read_epf("BE.csv")
    data["energy_prices"].head(1)
    #   market                 timestamp  price              available_at
    # 0     BE 2011-01-09 00:00:00+00:00  32.54 2011-01-08 12:00:00+00:00
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd
import pyarrow as pa

from heliograph.core import SourceError

__all__ = ["read_epf", "read_long"]

_US_PER_DAY = 86_400_000_000
_PRICE_AVAILABLE_US = 12 * 3_600_000_000  # before the delivery day's midnight: D-1 12:00
_FORECAST_AVAILABLE_US = 15 * 3_600_000_000  # D-1 09:00
_EPF_COLUMNS = 4
_RESERVED = frozenset({"market", "timestamp", "price", "available_at", "variable", "value"})
_TS = "datetime64[us, UTC]"


@dataclass(frozen=True)
class _Source:
    """A file read as a frame, with what is needed to point at one of its rows."""

    file: str
    frame: pd.DataFrame  # index: 0-based data row (header excluded), gaps where rows were blank
    csv: bool

    def where(self, label: int) -> str:
        return f"line {label + 2}" if self.csv else f"row {label + 1}"


# ---------------------------------------------------------------------------------------------
# reading files


def _check_path(path: str | Path) -> Path:
    file = Path(path)
    if not file.exists():
        raise SourceError("file not found", file=str(file), field="path", rule="must exist")
    if not file.is_file():
        raise SourceError("not a file", file=str(file), field="path", rule="must be a file")
    if file.stat().st_size == 0:
        raise SourceError(
            "file is empty", file=str(file), field="content", rule="must have a header and rows"
        )
    return file


def _read_csv(file: Path, *, header_required: int | None = None) -> tuple[list[str], _Source]:
    """Read every cell as text; return the header fields and the data rows."""
    label = str(file)
    try:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), [])
        if not any(cell.strip() for cell in header):
            raise SourceError(
                "the first line is blank", file=label, field="header", rule="line 1 is a header"
            )
        if header_required is not None and len(header) != header_required:
            raise SourceError(
                f"expected {header_required} columns, the header has {len(header)}",
                file=label,
                field="header",
                rule="EPF format: timestamp, price, exogenous 1, exogenous 2 (by position)",
            )
        # No names: the parser takes its width from the header line and rejects wider rows.
        table = pd.read_csv(
            file,
            header=None,
            dtype=str,
            na_filter=False,
            skip_blank_lines=False,
            skipinitialspace=True,
            encoding="utf-8-sig",
        )
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"not UTF-8 text ({exc.reason} at byte {exc.start})",
            file=label,
            field="content",
            rule="must be UTF-8 encoded CSV",
        ) from None
    except pd.errors.ParserError as exc:
        detail = str(exc).split("error:")[-1].strip()
        raise SourceError(
            f"rows have different numbers of fields: {detail}",
            file=label,
            field="columns",
            rule=f"every row has {len(header)} fields like the header",
        ) from None
    except (OSError, ValueError) as exc:
        raise SourceError(
            f"cannot be read as CSV: {exc}", file=label, field="content", rule="must be CSV"
        ) from None
    frame = table.iloc[1:]
    frame.index = frame.index - 1  # 0-based data rows: line = index + 2
    blank = (frame == "").all(axis=1).to_numpy()
    return [cell.strip() for cell in header], _Source(label, frame.loc[~blank], csv=True)


def _read_parquet(file: Path) -> _Source:
    try:
        frame = pd.read_parquet(file)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise SourceError(
            f"cannot be read as Parquet: {exc}",
            file=str(file),
            field="content",
            rule="must be a Parquet file",
        ) from None
    return _Source(str(file), frame.reset_index(drop=True), csv=False)


# ---------------------------------------------------------------------------------------------
# parsing columns


def _fail_at(
    src: _Source, mask: np.ndarray, values: pd.Series, field: str, what: str, rule: str
) -> NoReturn:
    """Raise for the first row where ``mask`` is true."""
    pos = int(np.flatnonzero(mask)[0])
    count = int(mask.sum())
    value = values.iloc[pos]
    shown = "an empty value" if _is_empty(value) else repr(value)
    more = f" ({count} such rows)" if count > 1 else ""
    raise SourceError(
        f"{src.where(int(values.index[pos]))}: {field} has {shown}, {what}{more}",
        file=src.file,
        field=field,
        rule=rule,
    )


def _is_empty(value: object) -> bool:
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # an array-like cell is not empty
        return False


def _to_number(src: _Source, values: pd.Series, field: str) -> np.ndarray:
    """Finite float64 values; any other value is an error at its row."""
    if pd.api.types.is_bool_dtype(values.dtype) or not (
        pd.api.types.is_numeric_dtype(values.dtype)
    ):
        numbers = pd.to_numeric(values.astype(object), errors="coerce")
    else:
        numbers = values
    out = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(out)
    if bad.any():
        _fail_at(src, bad, values, field, "not a number", "must be a finite number")
    return out


def _to_utc(src: _Source, values: pd.Series, field: str) -> pd.Series:
    """Timestamps in UTC: offsets are converted, naive values are taken as UTC."""
    dtype = values.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        stamps = values.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(dtype):
        stamps = values.dt.tz_localize("UTC")
    elif pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        bad = np.ones(len(values), dtype=bool)
        _fail_at(src, bad, values, field, "not a timestamp", "must be an ISO 8601 timestamp")
    else:
        stamps = pd.to_datetime(values, format="ISO8601", utc=True, errors="coerce")
    bad = stamps.isna().to_numpy()
    if bad.any():
        _fail_at(
            src,
            bad,
            values,
            field,
            "not a timestamp",
            "must be an ISO 8601 timestamp such as 2024-01-01 00:00:00",
        )
    return stamps.astype(_TS)


def _to_text(src: _Source, values: pd.Series, field: str) -> np.ndarray:
    text = values.astype(object)
    bad = np.array([_is_empty(v) for v in text], dtype=bool)
    if bad.any():
        _fail_at(src, bad, values, field, "which is not allowed", "must not be empty")
    return np.array([str(v).strip() for v in text], dtype=object)


def _micros(stamps: pd.Series) -> np.ndarray:
    """UTC timestamps as int64 microseconds (fast to sort, compare and shift)."""
    return stamps.astype(_TS).array.asi8


def _utc(micros: np.ndarray) -> pd.Series:
    return pd.Series(micros.astype("datetime64[us]")).dt.tz_localize("UTC")


def _check_unique(src: _Source, market: np.ndarray, stamps: pd.Series) -> None:
    codes, _ = pd.factorize(market)
    micros = _micros(stamps)
    key = pd.DataFrame({"m": codes, "t": micros})
    dup = key.duplicated(keep="first").to_numpy()
    if dup.any():
        pos = int(np.flatnonzero(dup)[0])
        same = (codes == codes[pos]) & (micros == micros[pos])
        first = int(np.flatnonzero(same)[0])
        count = int(dup.sum())
        more = f" ({count} repeated rows in all)" if count > 1 else ""
        raise SourceError(
            f"{src.where(int(stamps.index[pos]))}: market {market[pos]!r} at "
            f"{stamps.iloc[pos]} repeats {src.where(int(stamps.index[first]))}{more}",
            file=src.file,
            field="market, timestamp",
            rule="one price per market and timestamp",
        )


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")


# ---------------------------------------------------------------------------------------------
# building the datasets


def _datasets(
    market: np.ndarray,
    stamps: pd.Series,
    price: np.ndarray,
    exogenous: dict[str, np.ndarray],
    price_available: pd.Series | None = None,
) -> dict[str, pd.DataFrame]:
    micros = _micros(stamps)
    day = micros - micros % _US_PER_DAY
    available = day - _PRICE_AVAILABLE_US if price_available is None else _micros(price_available)
    codes, labels = pd.factorize(market, sort=True)
    order = np.lexsort((micros, codes))  # by market, then timestamp; stable
    market_sorted = np.asarray(labels, dtype=object)[codes[order]]
    micros, day, available = micros[order], day[order], available[order]

    prices = pd.DataFrame(
        {
            "market": pd.Series(market_sorted, dtype="str"),
            "timestamp": _utc(micros),
            "price": np.asarray(price, dtype=np.float64)[order],
            "available_at": _utc(available),
        }
    )
    names = sorted(exogenous)
    k = len(names)
    if k:
        values = np.column_stack([exogenous[name][order] for name in names]).ravel()
    else:
        values = np.empty(0, dtype=np.float64)
    keep = ~np.isnan(values)
    forecasts = pd.DataFrame(
        {
            "market": pd.Series(np.repeat(market_sorted, k)[keep], dtype="str"),
            "timestamp": _utc(np.repeat(micros, k)[keep]),
            "variable": pd.Series(
                np.tile(np.array(names, dtype=object), len(micros))[keep], dtype="str"
            ),
            "value": values[keep],
            "available_at": _utc(np.repeat(day - _FORECAST_AVAILABLE_US, k)[keep]),
        }
    )
    return {"energy_prices": prices, "energy_forecasts": forecasts}


def read_epf(path: str | Path, market: str | None = None) -> dict[str, pd.DataFrame]:
    """Read a file of the EPF open-access benchmark into ``energy_prices`` and ``energy_forecasts``.

    The four columns are read by position (headers differ between files): timestamp, price,
    exogenous 1, exogenous 2. The exogenous variables are named after their header, slugified
    (``"System load forecast"`` → ``system_load_forecast``), or ``exogenous_1``/``exogenous_2``
    when a header is blank, clashes with a dataset column or repeats the other one. ``market``
    defaults to the file name's stem, upper-cased (``BE.csv`` → ``BE``).

    Time: EPF timestamps are the market's local wall clock with exactly 24 hours a day (no
    daylight-saving days). They are kept as written and *labelled* UTC, so hours are regular
    but up to two hours off true UTC. ``available_at`` follows the same clock: prices for day D
    at D-1 12:00 (the auction), exogenous forecasts for day D at D-1 09:00.

    Example::

        data = read_epf("/data/epf/DE.csv")
        sorted(data["energy_forecasts"]["variable"].unique())
        # ['ampirion_load_forecast', 'pv_wind_forecast']
    """
    file = _check_path(path)
    name = file.name.split(".")[0].upper() if market is None else market
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"market must be a non-empty name, got {name!r}")
    header, src = _read_csv(file, header_required=_EPF_COLUMNS)
    frame = src.frame
    if frame.empty:
        raise SourceError(
            "the file has a header but no rows",
            file=src.file,
            field="content",
            rule="must have at least one row",
        )
    stamps = _to_utc(src, frame[0], "timestamp (column 1)")
    price = _to_number(src, frame[1], "price (column 2)")
    exogenous: dict[str, np.ndarray] = {}
    for position in (2, 3):
        number = position - 1
        slug = _slug(header[position])
        if not slug or slug in _RESERVED or slug in exogenous:
            slug = f"exogenous_{number}"
        field = f"{slug} (column {position + 1})"
        exogenous[slug] = _to_number(src, frame[position], field)
    markets = np.full(len(frame), name.strip(), dtype=object)
    _check_unique(src, markets, stamps)
    return _datasets(markets, stamps, price, exogenous)


def read_long(path: str | Path) -> dict[str, pd.DataFrame]:
    """Read a long price table (``.csv`` or ``.parquet``) into the energy datasets.

    Required columns: ``timestamp``, ``market``, ``price``. Optional: ``available_at`` (when
    the price became known; by default D-1 12:00 for delivery day D). Every other numeric
    column is a day-ahead forecast variable named after its column, available at D-1 09:00;
    its empty cells are left out. Text columns are ignored; a column that mixes numbers and
    text is an error. Timestamps with an offset are converted to UTC, naive ones are UTC.

    Example::

        data = read_long("prices.parquet")
        list(data["energy_prices"].columns)
        # ['market', 'timestamp', 'price', 'available_at']
    """
    file = _check_path(path)
    suffixes = [s.lower() for s in file.suffixes]
    if suffixes[-1:] == [".parquet"] or suffixes[-1:] == [".pq"]:
        src = _read_parquet(file)
        columns = [str(c).strip() for c in src.frame.columns]
        src.frame.columns = pd.Index(columns)
    elif ".csv" in suffixes[-2:]:
        columns, src = _read_csv(file)
        src.frame.columns = pd.Index(columns)
    else:
        raise SourceError(
            f"unknown file type {file.suffix!r}",
            file=str(file),
            field="path",
            rule="name ends in .csv or .parquet",
        )
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise SourceError(
            f"column names repeat: {repeated}",
            file=src.file,
            field="header",
            rule="column names are unique",
        )
    missing = [c for c in ("timestamp", "market", "price") if c not in columns]
    if missing:
        raise SourceError(
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(found: {', '.join(columns) or 'none'})",
            file=src.file,
            field=missing[0],
            rule="columns timestamp, market, price are required",
        )
    frame = src.frame
    if frame.empty:
        raise SourceError(
            "the file has no rows",
            file=src.file,
            field="content",
            rule="must have at least one row",
        )
    stamps = _to_utc(src, frame["timestamp"], "timestamp")
    markets = _to_text(src, frame["market"], "market")
    price = _to_number(src, frame["price"], "price")
    available = (
        _to_utc(src, frame["available_at"], "available_at") if ("available_at" in columns) else None
    )
    exogenous: dict[str, np.ndarray] = {}
    for column in columns:
        if column in _RESERVED or column == "":
            continue
        values = _exogenous(src, frame[column], column)
        if values is not None:
            exogenous[column] = values
    _check_unique(src, markets, stamps)
    return _datasets(markets, stamps, price, exogenous, available)


def _exogenous(src: _Source, values: pd.Series, field: str) -> np.ndarray | None:
    """The column as float64 if it holds numbers, ``None`` if it holds text (or nothing)."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        return None
    if pd.api.types.is_numeric_dtype(dtype):
        out = values.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.isinf(out)
    else:
        raw = values.astype(object)
        empty = np.array([_is_empty(v) for v in raw], dtype=bool)
        out = pd.to_numeric(raw.where(~empty, None), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        parsed = ~np.isnan(out)
        if not parsed.any():
            return None  # a text column: not a forecast variable
        bad = ~empty & ~parsed
        bad |= np.isinf(out)
    if bad.any():
        _fail_at(src, bad, values, field, "not a number", "forecast values must be finite numbers")
    return out
