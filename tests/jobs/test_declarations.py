"""The data jobs are declared with schedules, policies and an order the scheduler follows."""

from __future__ import annotations

from datetime import timedelta

from heliograph.jobs import JOBS, Schedule, parse_catch_up
from heliograph.scheduler import order_jobs


def test_the_data_jobs_run_in_order_each_on_its_schedule() -> None:
    scheduled = [j.name for j in order_jobs(JOBS.values()) if j.schedule is not None]
    core = [n for n in scheduled if n in {"ingest", "materialize", "snapshot", "report"}]
    assert core == ["ingest", "materialize", "snapshot", "report"]
    assert JOBS["ingest"].retries >= 1 and JOBS["check"].schedule is None
    assert JOBS["ingest"].retry_delay(1) == timedelta(seconds=30)
    assert JOBS["ingest"].retry_delay(3) == timedelta(seconds=120)
    assert JOBS["ingest"].retry_delay(30) == timedelta(hours=1)  # capped


def test_catch_up_policies_and_schedules_read_as_written() -> None:
    assert parse_catch_up("6h") == timedelta(hours=6)
    assert parse_catch_up("latest") == "latest" and parse_catch_up("all") == "all"
    assert "30th minute" in Schedule("*/30 * * * *").describe()
