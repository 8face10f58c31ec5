"""The lake on S3 (moto's S3 server on 127.0.0.1, through s3fs): the same guarantees as on a
folder. A partition appears whole or not at all, snapshots stay immutable (a changed object
is refused), failed batches are quarantined with their reports, and DuckDB reads it all
through the registered fsspec filesystem."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from heliograph.core import FixedClock, SnapshotError, init_project
from heliograph.lake import Lake, _ingest, is_remote, open_lake, take_snapshot
from tests.conftest import PRICES, price_frame
from tests.production.servers import S3


def s3_lake(s3: S3, clock: FixedClock) -> tuple[Lake, str]:
    bucket = s3.bucket()
    return Lake(f"s3://{bucket}/lake", [PRICES], clock=clock), bucket


def test_ingest_read_snapshot_and_quarantine_on_s3(s3: S3, clock: FixedClock) -> None:
    lake, bucket = s3_lake(s3, clock)
    assert is_remote(lake.root)
    frame = price_frame(days=3)
    bad = price_frame(days=1, start="2025-01-04").assign(price=99_999.0)  # fails between()
    result = lake.ingest("prices", pd.concat([frame, bad]), origin="mixed.csv")
    assert result.rows_written == 144 and result.rows_quarantined == 48

    keys = s3.keys(bucket, "lake/")
    parts = [k for k in keys if k.startswith("lake/prices/date=")]
    assert len(parts) == 3 and all(k.endswith(".parquet") for k in parts)
    assert not [k for k in keys if "/_staging/" in k], "staged objects are renamed away"
    assert "lake/prices/_dataset.json" in keys

    # DuckDB reads the objects through the registered fsspec filesystem.
    assert lake.query("SELECT count(*) AS n FROM prices")["n"].item() == 144
    assert [p.rows for p in lake.partitions("prices")] == [48, 48, 48]
    read = lake.read("prices").sort_values("timestamp", ignore_index=True)
    assert read["price"].tolist() == frame["price"].tolist()

    (entry,) = lake.quarantined("prices")
    assert entry.partition == "date=2025-01-04" and entry.rows == 48
    assert "between(price" in entry.reason
    report_json = (lake.root / "_quarantine" / entry.id).with_suffix(".report.json")
    report = json.loads(report_json.read_text())
    assert report["rows"] == 48
    assert entry.report_path.read_text().startswith("#")
    (log,) = [line for line in lake.check_log("prices") if line["status"] == "quarantined"]
    assert log["partition"] == "date=2025-01-04"

    snap = take_snapshot(lake, "prices")
    assert snap.rows == 144
    lake.ingest("prices", price_frame(days=1, start="2025-01-05"), origin="next.csv")
    assert len(lake.read("prices")) == 192
    assert len(lake.read("prices", snapshot=snap.id)) == 144  # the snapshot did not move
    assert take_snapshot(lake, "prices").id != snap.id
    # An object rewritten behind the lake's back is refused, never read as the snapshot.
    s3.client().put_object(Bucket=bucket, Key=parts[0], Body=b"PAR1 rewritten")
    with pytest.raises(SnapshotError, match="damaged"):
        lake.read("prices", snapshot=snap.id)


def test_a_partition_is_invisible_until_renamed_and_a_crash_shows_nothing(
    s3: S3, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake, bucket = s3_lake(s3, clock)
    fs = lake.root.fs  # type: ignore[attr-defined]
    real_mv = type(fs).mv
    seen_while_staged: list[tuple[int, int]] = []

    def mv(self, source: str, target: str, **kwargs):  # type: ignore[no-untyped-def]
        # Uploaded, not yet renamed: the object is there, readers do not see it.
        staged = [k for k in s3.keys(bucket, "lake/_staging/")]
        seen_while_staged.append((len(staged), len(lake.files("prices"))))
        return real_mv(self, source, target, **kwargs)

    monkeypatch.setattr(type(fs), "mv", mv)
    lake.ingest("prices", price_frame(days=1), origin="one.csv")
    assert seen_while_staged == [(1, 0)]

    real_write = _ingest._write_parquet

    def crash_on_the_3rd(table, path: Path) -> None:  # type: ignore[no-untyped-def]
        if table.column("timestamp")[0].as_py().day == 3:
            path.write_bytes(b"PAR1 half a file")
            raise OSError("disk full (simulated)")
        real_write(table, path)

    monkeypatch.setattr(_ingest, "_write_parquet", crash_on_the_3rd)
    with pytest.raises(OSError, match="simulated"):
        lake.ingest("prices", price_frame(days=3), origin="crashy.csv")
    visible = [p.date for p in lake.partitions("prices")]
    assert "2025-01-03" not in visible
    assert all(p.rows == 48 for p in lake.partitions("prices"))
    assert not s3.keys(bucket, "lake/_staging/")
    monkeypatch.setattr(_ingest, "_write_parquet", real_write)
    retry = lake.ingest("prices", price_frame(days=3), origin="retry.csv")
    assert retry.rows_written + retry.rows_duplicate == 144
    assert lake.query("SELECT count(*) AS n FROM prices")["n"].item() == 144


def test_lake_uri_in_the_configuration_puts_the_projects_lake_on_s3(
    s3: S3, tmp_path: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = s3.bucket()
    extra = "\n".join(
        [
            "[datasets.prices]",
            'key = ["market", "timestamp"]',
            'time_column = "timestamp"',
            'columns = { market = "string", timestamp = "timestamp", price = "double" }',
        ]
    )
    monkeypatch.setenv("HELIO_LAKE__URI", f"s3://{bucket}/team/lake")
    project = init_project(tmp_path / "p", extra=extra).with_clock(clock)
    lake = open_lake(project)
    lake.ingest("prices", price_frame(days=2), origin="x.csv")
    assert len(s3.keys(bucket, "team/lake/prices/date=")) == 2
    assert not list(project.lake_path.glob("prices/*")), "nothing is written locally"
    assert project.effective()["lake"]["uri"] == f"s3://{bucket}/team/lake"
