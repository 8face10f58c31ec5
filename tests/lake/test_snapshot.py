"""Snapshots: stable ids, immutable reads, damage detected."""

from __future__ import annotations

import pytest

from heliograph.core import SnapshotError
from heliograph.lake import Lake, list_snapshots, load_snapshot, snapshot_files, take_snapshot
from tests.conftest import price_frame


def test_a_snapshot_reads_the_same_rows_after_new_data(lake: Lake) -> None:
    lake.ingest("prices", price_frame(days=3), origin="a")
    snap = take_snapshot(lake, "prices")
    before = lake.read("prices", snapshot=snap.id).sort_values("timestamp")

    lake.ingest("prices", price_frame(days=6), origin="b")  # three new days
    lake.ingest("prices", price_frame(days=2, start="2025-01-04", markets=("DE",)), origin="c")
    after = lake.read("prices", snapshot=snap.id).sort_values("timestamp")

    assert len(lake.read("prices")) == 48 * 8
    assert snap.rows == len(after) == 144
    assert before.reset_index(drop=True).equals(after.reset_index(drop=True))


def test_snapshot_ids_are_stable_and_content_derived(lake: Lake) -> None:
    lake.ingest("prices", price_frame(days=2), origin="a")
    first = take_snapshot(lake, "prices")
    assert take_snapshot(lake, "prices").id == first.id  # unchanged data, same id
    assert len(list_snapshots(lake, "prices")) == 1
    lake.ingest("prices", price_frame(days=3), origin="b")
    second = take_snapshot(lake, "prices")
    assert second.id != first.id and second.id.startswith("prices@")
    assert load_snapshot(lake, first.id).rows == 96
    assert [s.id for s in list_snapshots(lake, "prices")] == [first.id, second.id]


def test_manifest_lists_partitions_rows_and_hashes(lake: Lake) -> None:
    lake.ingest("prices", price_frame(days=2), origin="a")
    snap = take_snapshot(lake, "prices")
    assert snap.partitions == ["date=2025-01-01", "date=2025-01-02"]
    assert all(len(f.sha256) == 64 and f.rows == 48 for f in snap.files)
    assert snap.layout["key"] == ["market", "timestamp"]
    assert "between(price, -500, 4000, mostly=0.99)" in snap.checks


def test_a_tampered_file_is_detected(lake: Lake) -> None:
    lake.ingest("prices", price_frame(days=2), origin="a")
    snap = take_snapshot(lake, "prices")
    path = lake.root / snap.files[0].path
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(SnapshotError, match="damaged"):
        snapshot_files(lake, snap.id, verify=True)
    path.unlink()
    with pytest.raises(SnapshotError, match="damaged"):
        lake.read("prices", snapshot=snap.id)


def test_unknown_snapshot_says_what_exists(lake: Lake) -> None:
    lake.ingest("prices", price_frame(days=1), origin="a")
    snap = take_snapshot(lake, "prices")
    with pytest.raises(SnapshotError, match="unknown snapshot") as info:
        lake.read("prices", snapshot="prices@000000000000")
    assert snap.id in (info.value.hint or "")
    with pytest.raises(SnapshotError, match="unknown snapshot"):
        load_snapshot(lake, "no-at-sign")
