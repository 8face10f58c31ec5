"""Ingest: atomic partitions, idempotent re-ingest, nothing silently dropped."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pandas as pd
import pytest

from heliograph.core import LakeError, UnknownDatasetError
from heliograph.lake import Dataset, Lake, _ingest
from tests.conftest import PRICES, price_frame


def visible_rows(lake: Lake) -> int:
    return int(lake.query("SELECT count(*) AS n FROM prices")["n"][0])


def test_ingest_partitions_by_date_and_reads_back(lake: Lake) -> None:
    frame = price_frame(days=3)
    result = lake.ingest("prices", frame, origin="test")
    assert result.ok
    assert result.rows_written == 144
    assert [p.date for p in lake.partitions("prices")] == ["2025-01-01", "2025-01-02", "2025-01-03"]
    back = lake.read("prices").sort_values("timestamp").reset_index(drop=True)
    assert list(back.columns) == ["market", "timestamp", "price"]
    pd.testing.assert_series_equal(back["price"], frame["price"], check_names=False)
    assert str(back["timestamp"].dt.tz) == "UTC"


def test_reingesting_the_same_data_adds_nothing(lake: Lake) -> None:
    frame = price_frame(days=5)
    lake.ingest("prices", frame, origin="first")
    files_before = lake.files("prices")
    again = lake.ingest("prices", frame, origin="again")
    assert again.rows_written == 0
    assert again.rows_duplicate == len(frame)
    assert lake.files("prices") == files_before
    assert visible_rows(lake) == len(frame)


def test_overlapping_batches_write_only_the_new_rows(lake: Lake) -> None:
    lake.ingest("prices", price_frame(days=3), origin="a")
    result = lake.ingest("prices", price_frame(days=5), origin="b")  # same seed: days 1-3 equal
    assert result.rows_duplicate == 144
    assert result.rows_written == 96
    assert visible_rows(lake) == 240


def test_same_key_with_other_values_is_quarantined_not_rewritten(lake: Lake) -> None:
    frame = price_frame(days=1)
    lake.ingest("prices", frame, origin="a")
    changed = frame.copy()
    changed.loc[:9, "price"] += 1.0
    result = lake.ingest("prices", changed, origin="correction.csv")
    assert result.rows_duplicate == 38
    assert result.rows_quarantined == 10
    assert lake.read("prices")["price"].sum() == pytest.approx(frame["price"].sum())
    entry = lake.quarantined("prices")[0]
    assert "append_only(market, timestamp)" in entry.reason
    assert pd.read_parquet(entry.path)["price"].tolist() == changed.loc[:9, "price"].tolist()


def test_crash_mid_write_leaves_nothing_visible(
    lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = price_frame(days=3)
    real_write = _ingest._write_parquet

    def crash_on_second_day(table, path: Path) -> None:  # type: ignore[no-untyped-def]
        if table.column("timestamp")[0].as_py().day == 2:
            path.write_bytes(b"PAR1 half a file")  # the crash leaves a torn staging file
            raise OSError("disk full (simulated)")
        real_write(table, path)

    monkeypatch.setattr(_ingest, "_write_parquet", crash_on_second_day)
    with pytest.raises(OSError, match="simulated"):
        lake.ingest("prices", frame, origin="crashy")
    # The crashed partition is not visible at all; the others are whole or absent.
    visible = [p.date for p in lake.partitions("prices")]
    assert "2025-01-02" not in visible
    assert all(p.rows == 48 for p in lake.partitions("prices"))
    assert visible_rows(lake) == 48 * len(visible)
    assert not list((lake.root / "_staging").glob("*"))

    monkeypatch.setattr(_ingest, "_write_parquet", real_write)
    retry = lake.ingest("prices", frame, origin="retry")
    assert retry.rows_duplicate == 48 * len(visible)
    assert retry.rows_written == 144 - 48 * len(visible)
    assert visible_rows(lake) == 144


def _ingest_then_die(root: str) -> None:
    """Run in a child process: start writing a partition and die without any cleanup."""

    def die(table, path: Path) -> None:  # type: ignore[no-untyped-def]
        path.write_bytes(b"PAR1 torn")
        os._exit(9)

    _ingest._write_parquet = die  # type: ignore[assignment]
    Lake(Path(root), [PRICES]).ingest("prices", price_frame(days=2), origin="doomed")


def test_a_killed_writer_leaves_no_partial_partition(lake: Lake) -> None:
    lake.ingest("prices", price_frame(days=1, start="2024-12-01"), origin="before")
    child = multiprocessing.get_context("fork").Process(
        target=_ingest_then_die, args=(str(lake.root),)
    )
    child.start()
    child.join(30)
    assert child.exitcode == 9
    assert visible_rows(lake) == 48  # the torn file sits in staging, invisible
    assert list((lake.root / "_staging").glob("*.tmp"))
    result = lake.ingest("prices", price_frame(days=2), origin="after")
    assert result.rows_written == 96
    assert visible_rows(lake) == 144


def test_bad_types_quarantine_the_batch_with_a_readable_report(lake: Lake) -> None:
    frame = price_frame(days=1).astype({"price": "string"})
    frame.loc[5, "price"] = "n/a"
    result = lake.ingest("prices", frame, origin="prices.csv")
    assert result.rows_written == 0 and not result.ok
    entry = result.quarantined[0]
    assert entry.rows == 48
    assert "1 values of price are not double" in entry.reason
    report = entry.report_path.read_text()
    assert "prices.csv" in report and "| price | 6 | n/a | value is double |" in report
    assert len(pd.read_parquet(entry.path)) == 48  # kept as it came, nothing dropped


def test_missing_column_names_the_column(lake: Lake) -> None:
    result = lake.ingest("prices", price_frame(days=1).drop(columns="price"), origin="x.csv")
    assert "missing column price" in result.quarantined[0].reason


def test_check_failure_quarantines_only_that_partition(lake: Lake) -> None:
    frame = price_frame(days=3)
    frame.loc[60:70, "price"] = 9999.0  # 11 of day 2's 48 rows: far beyond 1% tolerance
    result = lake.ingest("prices", frame, origin="feed")
    assert result.partitions_written == ["2025-01-01", "2025-01-03"]
    [entry] = result.quarantined
    assert entry.partition == "date=2025-01-02" and entry.rows == 48
    failed = entry.failed[0]
    assert failed.check == "between(price, -500, 4000, mostly=0.99)"
    assert failed.unexpected_count == 11
    assert failed.examples[0]["price"] == 9999.0
    assert "2025-01-02" not in set(lake.read("prices")["timestamp"].dt.strftime("%Y-%m-%d"))
    # Ingesting the same bad batch again does not pile up copies in quarantine.
    lake.ingest("prices", frame, origin="feed")
    assert len(lake.quarantined("prices")) == 1


def test_duplicate_keys_inside_a_batch_are_quarantined(lake: Lake) -> None:
    frame = price_frame(days=1)
    doubled = pd.concat([frame, frame.iloc[:3]], ignore_index=True)
    result = lake.ingest("prices", doubled, origin="dupes")
    assert result.quarantined[0].failed[0].check == "unique(market, timestamp)"
    assert result.rows_written == 0


def test_unknown_dataset_names_the_known_ones(lake: Lake) -> None:
    with pytest.raises(UnknownDatasetError, match="unknown dataset 'price'") as info:
        lake.ingest("price", price_frame(), origin="x")
    assert "prices" in (info.value.rule or "")


def test_a_layout_change_is_refused(lake: Lake) -> None:
    lake.ingest("prices", price_frame(days=1), origin="x")
    other = Dataset(
        "prices",
        {"market": "string", "timestamp": "timestamp", "price": "bigint"},
        ("market", "timestamp"),
        "timestamp",
    )
    with pytest.raises(LakeError, match="different columns"):
        Lake(lake.root, [other], clock=lake.clock).ingest("prices", price_frame(days=1), origin="y")


def test_a_query_sees_the_datasets_it_names_whatever_their_case(lake: Lake) -> None:
    lake.ingest("prices", price_frame(days=1), origin="x")
    assert int(lake.query("SELECT count(*) AS n FROM PRICES")["n"][0]) == 48
    assert int(lake.query('SELECT count(*) AS n FROM "Prices" AS p')["n"][0]) == 48
    with pytest.raises(LakeError, match="query failed"):
        lake.query("SELECT * FROM elsewhere")  # not a dataset: no view of it


def test_query_errors_are_sentences(lake: Lake) -> None:
    lake.ingest("prices", price_frame(days=1), origin="x")
    with pytest.raises(LakeError, match="query failed"):
        lake.query("SELECT nope FROM prices")


def test_row_count_judges_the_whole_partition_not_the_batch(tmp_path: Path) -> None:
    from heliograph.checks import row_count

    daily = Dataset("prices", PRICES.columns, PRICES.key, "timestamp", (row_count(min=23, max=48),))
    lake = Lake(tmp_path, [daily])
    frame = price_frame(days=1)
    assert lake.ingest("prices", frame.iloc[:47], origin="most of the day").ok
    late = lake.ingest("prices", frame.iloc[47:], origin="one late row")
    assert late.ok and late.rows_written == 1  # 48 in the partition, not 1
    extra = price_frame(days=1, markets=("DE",)).iloc[:5]
    assert not lake.ingest("prices", extra, origin="too many").ok  # 53 > 48


def test_the_key_must_include_the_time_column() -> None:
    from heliograph.core import ConfigError

    with pytest.raises(ConfigError, match="key must include the time column"):
        Dataset("prices", PRICES.columns, ("market",), "timestamp")
