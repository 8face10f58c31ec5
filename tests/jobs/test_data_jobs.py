"""The data jobs on a project: streams released by the clock, events for every change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from heliograph.core import FixedClock, Project, UsageError, init_project
from heliograph.jobs import check, ingest, ingest_file, report, run_job, run_pipeline, snapshot
from heliograph.lake import open_lake
from heliograph.ledger import Ledger

DATASET = """
[datasets.prices]
key = ["market", "timestamp"]
time_column = "timestamp"

[datasets.prices.columns]
market = "string"
timestamp = "timestamp"
price = "double"
available_at = "timestamp"

[[datasets.prices.checks]]
type = "between"
column = "price"
min = -500
max = 4000
mostly = 0.99

[[datasets.prices.checks]]
type = "freshness"
column = "available_at"
max_age = "2d"
"""


def write_feed(path: Path, days: int, spike_day: int | None = None) -> pd.DataFrame:
    stamps = pd.date_range("2025-06-01", periods=24 * days, freq="1h", tz="UTC")
    frame = pd.DataFrame(
        {
            "market": "GB",
            "timestamp": stamps,
            "price": [50.0 + (i % 24) for i in range(len(stamps))],
            # a day's prices become known at noon the day before (the auction)
            "available_at": stamps.normalize() - pd.Timedelta(hours=12),
        }
    )
    if spike_day is not None:
        frame.loc[spike_day * 24 : spike_day * 24 + 5, "price"] = 99999.0
    frame.to_csv(path, index=False)
    return frame


@pytest.fixture
def project(tmp_path: Path) -> Project:
    write_feed(tmp_path / "feed.csv", days=6, spike_day=4)
    init_project(
        tmp_path,
        extra=DATASET
        + """
[[sources]]
name = "feed"
type = "files"
[sources.options]
paths = ["feed.csv"]
dataset = "prices"
replay = true
""",
    )
    return Project.load(tmp_path)


def test_a_replayed_stream_releases_rows_as_the_clock_passes(project: Project) -> None:
    clock = FixedClock(datetime(2025, 6, 2, 13, tzinfo=UTC))  # after the auction for 06-03
    project.with_clock(clock)
    first = ingest(project)
    lake = open_lake(project)
    assert [p.date for p in lake.partitions("prices")] == ["2025-06-01", "2025-06-02", "2025-06-03"]
    assert first.results[0].rows_in == 72

    again = ingest(project)  # same moment: nothing new was released
    assert again.results[0].rows_in == 0

    clock.advance(timedelta(days=3))  # 06-05 13:00: days 4, 5 and 6 are known, day 5 spiked
    later = ingest(project)
    assert later.results[0].rows_in == 72
    assert [p.date for p in lake.partitions("prices")][-1] == "2025-06-06"
    [entry] = later.results[0].quarantined
    assert entry.partition == "date=2025-06-05"
    events = Ledger(project.ledger_url).events(kind="data_quarantined")
    assert [e.subject for e in events] == [entry.id]
    assert "between(price" in events[0].reason
    assert later.ok is False

    # The same file again from the start: nothing new, and no second event or log line.
    (project.state_dir / "sources" / "feed.json").unlink()
    ingest(project)
    assert len(Ledger(project.ledger_url).events(kind="data_quarantined")) == 1
    log = open_lake(project).check_log("prices")
    assert [e["status"] for e in log].count("quarantined") == 1


def test_freshness_failure_is_an_event(project: Project) -> None:
    project.with_clock(FixedClock(datetime(2025, 6, 20, tzinfo=UTC)))  # the feed stopped
    outcome = ingest(project)
    assert not outcome.dataset_checks["prices"][0].success
    [event] = Ledger(project.ledger_url).events(kind="check_failed")
    assert event.subject == "prices" and "freshness(available_at" in event.reason


def test_snapshot_job_records_new_snapshots_once(project: Project) -> None:
    project.with_clock(FixedClock(datetime(2025, 6, 3, tzinfo=UTC)))
    ingest(project)
    [snap] = snapshot(project)
    assert snapshot(project)[0].id == snap.id
    events = Ledger(project.ledger_url).events(kind="snapshot_taken")
    assert [e.subject for e in events] == [snap.id]


def test_check_job_reports_published_data_against_changed_checks(project: Project) -> None:
    project.with_clock(FixedClock(datetime(2025, 6, 3, tzinfo=UTC)))
    ingest(project)
    files = open_lake(project).files("prices")
    text = project.config_path.read_text().replace("max = 4000", "max = 60")  # stricter now
    project.config_path.write_text(text)
    stricter = Project.load(project.root).with_clock(project.clock())
    [outcome] = check(stricter)
    assert not outcome.ok and len(outcome.failed) == 3
    assert open_lake(stricter).files("prices") == files  # reported, never moved


def test_ingest_file_reads_everything_before_writing(project: Project, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    write_feed(good, days=1)
    bad = tmp_path / "bad.csv"
    bad.write_text('market,timestamp,price,available_at\nGB,2025-06-01,"unterminated\n')
    with pytest.raises(Exception, match="bad.csv"):
        ingest_file(project, [good, bad], format="csv", dataset="prices")
    assert open_lake(project).partitions("prices") == []


def test_unknown_job_and_source_are_usage_errors(project: Project) -> None:
    with pytest.raises(UsageError, match="unknown job 'ingets'"):
        run_job(project, "ingets")
    with pytest.raises(UsageError, match="unknown source 'nope'"):
        ingest(project, ["nope"])


def test_pipeline_on_the_energy_simulator(tmp_path: Path) -> None:
    from heliograph.core import load_app

    energy = load_app("energy")
    config = energy.config.replace('start = "2024-01-01"', 'start = "2025-05-01"')
    project = init_project(tmp_path, extra=config).with_clock(
        FixedClock(datetime(2025, 5, 20, 12, tzinfo=UTC))
    )
    done = run_pipeline(project)
    assert done["ingest"].ok, done["ingest"].summary()
    lake = open_lake(project)
    prices = lake.read("energy_prices")
    assert set(prices["market"]) == {"GB", "DE", "FR"}
    # day-ahead: at noon on 05-20 the auction for 05-21 has closed, 05-22 has not
    assert prices["timestamp"].max() == pd.Timestamp("2025-05-21 23:30", tz="UTC")
    assert (prices["available_at"] <= pd.Timestamp("2025-05-20 12:00", tz="UTC")).all()
    actuals = lake.read("energy_actuals")
    assert actuals["timestamp"].max() < pd.Timestamp("2025-05-20 12:00", tz="UTC")
    assert {s.dataset for s in done["snapshots"]} == {
        "energy_prices",
        "energy_forecasts",
        "energy_actuals",
    }
    for path in done["reports"]:
        assert path.read_text().startswith("<!DOCTYPE html>")
    assert report(project, ["energy_prices"])[0].name == "2025-05-21.html"
