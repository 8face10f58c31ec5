"""Loaders for the EPF benchmark files and the generic long format, and their errors."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from heliograph.apps.energy._formats import read_epf, read_long
from heliograph.core import SourceError

EPF_DIR = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "epf"
PRICE_COLUMNS = ["market", "timestamp", "price", "available_at"]
LONG_COLUMNS = ["market", "timestamp", "variable", "value", "available_at"]
TS = "datetime64[us, UTC]"

# From ../shared/data/README.md.
EPF_FILES = {
    "BE": ("2011-01-09 00:00", "2016-12-31 23:00", ["generation_forecast", "system_load_forecast"]),
    "FR": ("2011-01-09 00:00", "2016-12-31 23:00", ["generation_forecast", "system_load_forecast"]),
    "DE": ("2012-01-09 00:00", "2017-12-31 23:00", ["ampirion_load_forecast", "pv_wind_forecast"]),
}


@pytest.fixture(scope="module")
def epf_dir() -> Path:
    if not EPF_DIR.is_dir():
        pytest.skip(f"the EPF benchmark files are not at {EPF_DIR.resolve()} (../shared/data/epf)")
    return EPF_DIR


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def epf_text(header: str = "Date,Price,Exo A,Exo B", rows: int = 48) -> str:
    stamps = pd.date_range("2020-03-01", periods=rows, freq="h")
    lines = [header] + [
        f"{t:%Y-%m-%d %H:%M:%S},{10.5 + i},{100 + i},{200.0 + i}" for i, t in enumerate(stamps)
    ]
    return "\n".join(lines) + "\n"


def check_shape(data: dict[str, pd.DataFrame]) -> None:
    prices, forecasts = data["energy_prices"], data["energy_forecasts"]
    assert list(prices.columns) == PRICE_COLUMNS
    assert list(forecasts.columns) == LONG_COLUMNS
    for frame in (prices, forecasts):
        assert str(frame.timestamp.dtype) == TS
        assert str(frame.available_at.dtype) == TS
        assert pd.api.types.is_string_dtype(frame.market.dtype)
        assert not frame.isna().any().any()
        assert (frame.available_at < frame.timestamp.dt.normalize()).all()
    assert prices.price.dtype == forecasts.value.dtype == np.float64
    assert prices.equals(prices.sort_values(["market", "timestamp"], ignore_index=True))
    key = ["market", "timestamp", "variable"]
    assert forecasts.equals(forecasts.sort_values(key, ignore_index=True))


# --- the shipped EPF files --------------------------------------------------------------------


@pytest.mark.parametrize("market", sorted(EPF_FILES))
def test_read_shipped_epf_file(epf_dir, market):
    first, last, variables = EPF_FILES[market]
    data = read_epf(epf_dir / f"{market}.csv")
    check_shape(data)
    prices, forecasts = data["energy_prices"], data["energy_forecasts"]
    assert len(prices) == 52_416
    assert len(forecasts) == 2 * 52_416
    assert set(prices.market) == set(forecasts.market) == {market}
    assert prices.timestamp.iloc[0] == pd.Timestamp(first, tz="UTC")
    assert prices.timestamp.iloc[-1] == pd.Timestamp(last, tz="UTC")
    assert (prices.timestamp.diff().dropna() == pd.Timedelta(hours=1)).all()  # 24 hours a day
    assert sorted(forecasts.variable.unique()) == variables
    day = prices.timestamp.dt.normalize()
    assert (prices.available_at == day - pd.Timedelta(hours=12)).all()
    day = forecasts.timestamp.dt.normalize()
    assert (forecasts.available_at == day - pd.Timedelta(hours=15)).all()
    if market == "DE":
        assert (prices.price < 0).any()  # prices can be negative and are kept


def test_shipped_be_first_row_matches_the_file(epf_dir):
    path = epf_dir / "BE.csv"
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        stamp, price, exo1, exo2 = next(reader)
    data = read_epf(path)
    row = data["energy_prices"].iloc[0]
    assert row.timestamp == pd.Timestamp(stamp, tz="UTC")
    assert row.price == float(price)
    first = data["energy_forecasts"].iloc[:2]
    assert dict(zip(first.variable, first.value, strict=True)) == {
        "generation_forecast": float(exo1),
        "system_load_forecast": float(exo2),
    }


def test_read_epf_is_fast(epf_dir):
    read_epf(epf_dir / "BE.csv")  # warm up imports
    started = time.perf_counter()
    read_epf(epf_dir / "BE.csv")
    assert time.perf_counter() - started < 1.0


# --- EPF on generated files -------------------------------------------------------------------


def test_read_epf_any_market_by_position(tmp_path):
    path = write(tmp_path / "np.csv", epf_text(header=",Prices , PV+Wind Forecast,Load (MW)"))
    data = read_epf(path)
    check_shape(data)
    prices, forecasts = data["energy_prices"], data["energy_forecasts"]
    assert set(prices.market) == {"NP"}
    assert len(prices) == 48 and len(forecasts) == 96
    assert sorted(forecasts.variable.unique()) == ["load_mw", "pv_wind_forecast"]
    assert prices.price.iloc[0] == 10.5
    assert prices.available_at.iloc[0] == pd.Timestamp("2020-02-29 12:00", tz="UTC")
    assert forecasts.available_at.iloc[-1] == pd.Timestamp("2020-03-01 09:00", tz="UTC")
    assert set(read_epf(path, market="NordPool")["energy_prices"].market) == {"NordPool"}


@pytest.mark.parametrize(
    ("header", "names"),
    [
        ("Date,Price,,", ["exogenous_1", "exogenous_2"]),
        ("Date,Price,Load,load", ["exogenous_2", "load"]),
        ("Date,Price,price,+++", ["exogenous_1", "exogenous_2"]),
    ],
)
def test_read_epf_falls_back_to_numbered_exogenous_names(tmp_path, header, names):
    data = read_epf(write(tmp_path / "XX.csv", epf_text(header=header, rows=3)))
    assert sorted(data["energy_forecasts"].variable.unique()) == names


def test_read_epf_sorts_rows_and_ignores_blank_lines(tmp_path):
    lines = epf_text(rows=3).splitlines()
    text = "\n".join([lines[0], lines[3], "", lines[1], lines[2]]) + "\n\n"
    prices = read_epf(write(tmp_path / "XX.csv", text))["energy_prices"]
    assert prices.price.tolist() == [10.5, 11.5, 12.5]


# --- errors -----------------------------------------------------------------------------------


def assert_source_error(excinfo, path: Path, field: str, *parts: str) -> None:
    error = excinfo.value
    assert error.file == str(path)
    assert error.field is not None and field in error.field
    assert error.rule
    for part in parts:
        assert part in error.headline, (part, error.headline)


def test_epf_missing_and_empty_files(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(SourceError) as excinfo:
        read_epf(missing)
    assert_source_error(excinfo, missing, "path", "not found")
    empty = write(tmp_path / "empty.csv", "")
    with pytest.raises(SourceError) as excinfo:
        read_epf(empty)
    assert_source_error(excinfo, empty, "content", "empty")
    header_only = write(tmp_path / "header.csv", "Date,Price,A,B\n")
    with pytest.raises(SourceError) as excinfo:
        read_epf(header_only)
    assert_source_error(excinfo, header_only, "content", "no rows")


@pytest.mark.parametrize("header", ["Date,Price,A", "Date,Price,A,B,C"])
def test_epf_wrong_number_of_columns(tmp_path, header):
    path = write(tmp_path / "XX.csv", header + "\n2020-01-01 00:00:00,1,2,3\n")
    with pytest.raises(SourceError) as excinfo:
        read_epf(path)
    assert_source_error(excinfo, path, "header", "expected 4 columns")


def test_epf_ragged_row(tmp_path):
    text = epf_text(rows=5).replace("13.5,103,203.0", "13.5,103,203.0,9")
    path = write(tmp_path / "XX.csv", text)
    with pytest.raises(SourceError) as excinfo:
        read_epf(path)
    assert_source_error(excinfo, path, "columns", "line 5")


@pytest.mark.parametrize(
    ("old", "new", "field", "parts"),
    [
        ("2020-03-01 02:00:00", "2020-03-01 2am", "timestamp", ("line 4", "'2020-03-01 2am'")),
        ("2020-03-01 03:00:00", "", "timestamp", ("line 5", "empty")),
        (",12.5,", ",n/a,", "price", ("line 4", "'n/a'")),
        (",13.5,", ",,", "price", ("line 5", "empty")),
        (",104,", ",1O4,", "column 3", ("line 6", "'1O4'")),
        ("205.0", "inf", "column 4", ("line 7", "'inf'")),
    ],
)
def test_epf_bad_values_name_line_and_value(tmp_path, old, new, field, parts):
    text = epf_text(rows=6)
    assert old in text
    path = write(tmp_path / "XX.csv", text.replace(old, new, 1))
    with pytest.raises(SourceError) as excinfo:
        read_epf(path)
    assert_source_error(excinfo, path, field, *parts)


def test_epf_duplicate_timestamps(tmp_path):
    lines = epf_text(rows=4).splitlines()
    path = write(tmp_path / "XX.csv", "\n".join([*lines, lines[2]]) + "\n")
    with pytest.raises(SourceError) as excinfo:
        read_epf(path)
    assert_source_error(excinfo, path, "timestamp", "line 6", "repeats line 3")


def test_epf_not_text(tmp_path):
    path = tmp_path / "XX.csv"
    path.write_bytes(b"Date,Price,A,B\n\xff\xfe\x00garbage,1,2,3\n")
    with pytest.raises(SourceError) as excinfo:
        read_epf(path)
    assert_source_error(excinfo, path, "content", "UTF-8")


# --- generic long format ----------------------------------------------------------------------

UTC0 = pd.Timestamp("2024-01-01", tz="UTC")
HOUR = pd.Timedelta(hours=1)


def long_frame() -> pd.DataFrame:
    """Unsorted rows, with an offset, a naive and a Z timestamp, a gap and a text column."""
    return pd.DataFrame(
        {
            "timestamp": [
                "2024-01-01T01:00:00+01:00",
                "2024-01-01 01:00:00",
                "2024-01-01T00:00:00Z",
                "2024-01-01T03:00:00+01:00",
            ],
            "market": ["DE", "DE", "GB", "DE"],
            "price": [50.0, 51.5, -3.0, 52.0],
            "wind_forecast": [1000.0, 1100.0, np.nan, 1200.0],
            "load": [3, 4, 5, 6],
            "note": ["a", "b", "c", "d"],
        }
    )


def check_long(data: dict[str, pd.DataFrame]) -> None:
    check_shape(data)
    prices, forecasts = data["energy_prices"], data["energy_forecasts"]
    assert list(zip(prices.market, prices.timestamp, prices.price, strict=True)) == [
        ("DE", UTC0, 50.0),
        ("DE", UTC0 + HOUR, 51.5),
        ("DE", UTC0 + 2 * HOUR, 52.0),
        ("GB", UTC0, -3.0),
    ]
    assert sorted(forecasts.variable.unique()) == ["load", "wind_forecast"]
    assert len(forecasts) == 7  # the note column is text; GB has no wind forecast
    assert (forecasts.available_at == pd.Timestamp("2023-12-31 09:00", tz="UTC")).all()
    gb = forecasts[forecasts.market == "GB"]
    assert gb.variable.tolist() == ["load"] and gb.value.tolist() == [5.0]
    de = forecasts[(forecasts.market == "DE") & (forecasts.variable == "wind_forecast")]
    assert de.value.tolist() == [1000.0, 1100.0, 1200.0]


def test_read_long_csv_converts_offsets_to_utc(tmp_path):
    path = tmp_path / "prices.csv"
    long_frame().to_csv(path, index=False)
    data = read_long(path)
    check_long(data)
    assert (data["energy_prices"].available_at == pd.Timestamp("2023-12-31 12:00", tz="UTC")).all()


def test_read_long_parquet_with_string_timestamps(tmp_path):
    path = tmp_path / "prices.parquet"
    long_frame().to_parquet(path, index=False)
    check_long(read_long(path))


@pytest.mark.parametrize("tz", [None, "UTC", "Europe/Berlin"])
def test_read_long_parquet_with_datetime_columns(tmp_path, tz):
    frame = long_frame()
    local = pd.to_datetime(frame.timestamp, format="ISO8601", utc=True)
    frame["timestamp"] = local.dt.tz_localize(None) if tz is None else local.dt.tz_convert(tz)
    frame["available_at"] = frame.timestamp - pd.Timedelta(hours=20)
    path = tmp_path / "prices.parquet"
    frame.to_parquet(path, index=False)
    data = read_long(path)
    check_long(data)
    prices = data["energy_prices"]
    assert (prices.available_at == prices.timestamp - pd.Timedelta(hours=20)).all()


def test_read_long_csv_available_at_column(tmp_path):
    frame = long_frame()
    frame["available_at"] = "2023-12-31T11:00:00+00:00"
    path = tmp_path / "prices.csv"
    frame.to_csv(path, index=False)
    prices = read_long(path)["energy_prices"]
    assert (prices.available_at == pd.Timestamp("2023-12-31 11:00", tz="UTC")).all()


@pytest.mark.parametrize(
    ("column", "row", "value", "field", "parts"),
    [
        ("timestamp", 1, "tomorrow", "timestamp", ("line 3", "'tomorrow'")),
        ("price", 2, "cheap", "price", ("line 4", "'cheap'")),
        ("price", 3, "", "price", ("line 5", "empty")),
        ("market", 0, " ", "market", ("line 2", "empty")),
        ("load", 3, "lots", "load", ("line 5", "'lots'")),
        ("available_at", 1, "later", "available_at", ("line 3", "'later'")),
    ],
)
def test_read_long_csv_bad_values(tmp_path, column, row, value, field, parts):
    frame = long_frame().astype({"load": object, "price": object})
    frame["available_at"] = "2023-12-31 11:00"
    frame.loc[row, column] = value
    path = tmp_path / "prices.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(SourceError) as excinfo:
        read_long(path)
    assert_source_error(excinfo, path, field, *parts)


def test_read_long_parquet_bad_price_names_the_row(tmp_path):
    frame = long_frame()
    frame["price"] = ["1", "2", "three", "4"]
    path = tmp_path / "prices.parquet"
    frame.to_parquet(path, index=False)
    with pytest.raises(SourceError) as excinfo:
        read_long(path)
    assert_source_error(excinfo, path, "price", "row 3", "'three'")


def test_read_long_parquet_numeric_timestamps_are_rejected(tmp_path):
    frame = long_frame()
    frame["timestamp"] = [1, 2, 3, 4]
    path = tmp_path / "prices.parquet"
    frame.to_parquet(path, index=False)
    with pytest.raises(SourceError) as excinfo:
        read_long(path)
    assert_source_error(excinfo, path, "timestamp", "row 1")


def test_read_long_duplicates_after_conversion_to_utc(tmp_path):
    frame = long_frame()
    frame.loc[3, "timestamp"] = "2024-01-01T00:00:00Z"  # the same instant as row 1 (line 2)
    path = tmp_path / "prices.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(SourceError) as excinfo:
        read_long(path)
    assert_source_error(excinfo, path, "timestamp", "line 5", "repeats line 2", "'DE'")


@pytest.mark.parametrize("drop", ["timestamp", "market", "price"])
def test_read_long_missing_required_column(tmp_path, drop):
    path = tmp_path / "prices.csv"
    long_frame().drop(columns=drop).to_csv(path, index=False)
    with pytest.raises(SourceError) as excinfo:
        read_long(path)
    assert_source_error(excinfo, path, drop, "missing column")


def test_read_long_file_level_errors(tmp_path):
    for name, content, field, part in [
        ("prices.txt", "timestamp,market,price\n", "path", "unknown file type"),
        ("prices.csv", "", "content", "empty"),
        ("head.csv", "timestamp,market,price\n", "content", "no rows"),
        ("dup.csv", "timestamp,market,price,price\n2024-01-01,GB,1,2\n", "header", "repeat"),
        ("bad.parquet", "not parquet at all", "content", "Parquet"),
    ]:
        path = write(tmp_path / name, content)
        with pytest.raises(SourceError) as excinfo:
            read_long(path)
        assert_source_error(excinfo, path, field, part)
    with pytest.raises(SourceError) as excinfo:
        read_long(tmp_path / "missing.parquet")
    assert_source_error(excinfo, tmp_path / "missing.parquet", "path", "not found")
