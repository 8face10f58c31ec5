"""The scheduler on a ledger: each (job, scheduled time) once, catch-up by policy, retries.

The known failures of the anchors are tests here: duplicate runs with several schedulers on
one store (APScheduler #766), late runs piling up after downtime (Prefect #9054), a CronJob
that stops scheduling after 100 missed starts (kubernetes #42649).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from heliograph.core import FixedClock, Project, UsageError, init_project
from heliograph.jobs import JOBS, CannotRun, job
from heliograph.ledger import JobRuns, Ledger
from heliograph.scheduler import Scheduler, job_statuses, order_jobs

T0 = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return init_project(tmp_path / "p")


@pytest.fixture
def declare() -> Iterator[Callable[..., list[datetime]]]:
    """Declare a test job (removed afterwards); returns the scheduled times it saw, in order."""
    names: list[str] = []

    def make(name: str, action: Callable[[datetime], Any] | None = None, **options: Any):
        seen: list[datetime] = []
        lock = threading.Lock()

        def run(project: Project) -> str:
            now = project.clock().now()  # the run's scheduled time
            with lock:
                seen.append(now)
            if action is not None:
                action(now)
            return f"ran for {now:%H:%M}"

        job(name, "a test job", **options)(run)
        names.append(name)
        return seen

    yield make
    for name in names:
        JOBS.pop(name, None)


def test_a_job_sees_its_scheduled_time_and_each_interval_runs_once(
    project: Project, declare: Callable[..., list[datetime]]
) -> None:
    seen = declare("t_minutely", schedule="* * * * *", catch_up="all")
    clock = FixedClock(T0 + timedelta(seconds=30))
    scheduler = Scheduler(project, ["t_minutely"], clock=clock)
    assert [o.status for o in scheduler.tick()] == ["succeeded"]
    assert scheduler.tick() == []  # the same moment again: nothing new
    clock.advance(3 * MINUTE)
    assert [o.scheduled_for for o in scheduler.tick()] == [T0 + MINUTE * i for i in (1, 2, 3)]
    assert seen == [T0 + MINUTE * i for i in range(4)]
    runs = JobRuns(scheduler.ledger).runs("t_minutely")
    assert sorted(r.scheduled_for for r in runs) == seen
    assert {r.status for r in runs} == {"succeeded"} and runs[0].summary == "ran for 10:03"


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_two_schedulers_on_one_ledger_run_each_interval_once(
    backend: str,
    project: Project,
    declare: Callable[..., list[datetime]],
    request: pytest.FixtureRequest,
) -> None:
    """APScheduler #766: with several processes, each job ran once per process."""
    url = project.ledger_url if backend == "sqlite" else request.getfixturevalue("postgres_url")
    seen = declare("t_shared", lambda _now: time.sleep(0.002), schedule="* * * * *", catch_up="all")
    clock = FixedClock(T0)
    schedulers = [
        Scheduler(project, ["t_shared"], ledger=Ledger(url), clock=clock) for _ in range(2)
    ]
    ran: dict[str, int] = {s.owner: 0 for s in schedulers}
    stop = threading.Event()

    def loop(scheduler: Scheduler) -> None:
        while not stop.is_set():
            ran[scheduler.owner] += len(scheduler.tick())

    threads = [threading.Thread(target=loop, args=(s,)) for s in schedulers]
    for t in threads:
        t.start()
    for _ in range(40):
        time.sleep(0.01)
        clock.advance(MINUTE)
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join()
    schedulers[0].tick()  # anything left
    expected = [T0 + MINUTE * i for i in range(41)]
    assert sorted(seen) == expected  # every interval, each once
    assert len(seen) == len(set(seen))
    reader = Ledger(url)
    rows = JobRuns(reader).runs("t_shared")
    for ledger in (reader, *(s.ledger for s in schedulers)):
        ledger.close()
    assert len(rows) == 41 and {r.status for r in rows} == {"succeeded"}


def test_after_downtime_latest_runs_one_and_names_what_it_skipped(
    project: Project, declare: Callable[..., list[datetime]]
) -> None:
    """Prefect #9054: after downtime, late runs piled up and ran one after another."""
    seen = declare("t_latest", schedule="* * * * *", catch_up="latest")
    clock = FixedClock(T0)
    scheduler = Scheduler(project, ["t_latest"], clock=clock)
    scheduler.tick()
    clock.advance(timedelta(hours=3))  # 180 intervals missed
    assert [o.scheduled_for for o in scheduler.tick()] == [T0 + timedelta(hours=3)]
    assert seen == [T0, T0 + timedelta(hours=3)]
    (event,) = scheduler.ledger.events(kind="job_runs_skipped")
    assert "from 2025-06-01 10:01 UTC to before 2025-06-01 13:00 UTC" in event.reason
    assert event.subject.startswith("t_latest@")


def test_a_window_catches_up_only_its_window(
    project: Project, declare: Callable[..., list[datetime]]
) -> None:
    seen = declare("t_window", schedule="*/5 * * * *", catch_up="30m")
    clock = FixedClock(T0)
    scheduler = Scheduler(project, ["t_window"], clock=clock)
    scheduler.tick()
    clock.advance(timedelta(hours=5))
    scheduler.tick()
    assert seen[1:] == [T0 + timedelta(hours=5, minutes=m) for m in (-25, -20, -15, -10, -5, 0)]
    assert len(scheduler.ledger.events(kind="job_runs_skipped")) == 1


def test_policy_all_works_off_more_than_100_missed_runs_and_keeps_going(
    project: Project, declare: Callable[..., list[datetime]]
) -> None:
    """kubernetes #42649: a CronJob stops scheduling after more than 100 missed start times."""
    seen = declare("t_all", schedule="* * * * *", catch_up="all")
    clock = FixedClock(T0)
    scheduler = Scheduler(project, ["t_all"], clock=clock)
    scheduler.tick()
    clock.advance(150 * MINUTE)
    assert len(scheduler.tick()) == 100  # at most max_runs_per_tick per look, then the rest
    assert len(scheduler.tick()) == 50
    clock.advance(MINUTE)
    assert len(scheduler.tick()) == 1
    assert seen == [T0 + MINUTE * i for i in range(152)]


def test_a_year_of_downtime_costs_one_run_and_no_time(
    project: Project, declare: Callable[..., list[datetime]]
) -> None:
    seen = declare("t_year", schedule="* * * * *")  # catch_up latest, the default
    clock = FixedClock(T0)
    scheduler = Scheduler(project, ["t_year"], clock=clock)
    scheduler.tick()
    clock.advance(timedelta(days=365))
    started = time.perf_counter()
    scheduler.tick()
    assert time.perf_counter() - started < 2.0
    assert seen == [T0, T0 + timedelta(days=365)]


def test_a_failing_run_is_retried_with_backoff_and_leaves_events(
    project: Project, declare: Callable[..., list[datetime]]
) -> None:
    failures = [ZeroDivisionError("boom"), OSError("disk full")]

    def flaky(_now: datetime) -> None:
        if failures:
            raise failures.pop(0)

    seen = declare("t_flaky", flaky, schedule="0 * * * *", retries=3)
    clock = FixedClock(T0)
    scheduler = Scheduler(project, ["t_flaky"], clock=clock)
    (first,) = scheduler.tick()
    assert first.status == "retrying" and first.retry_at == T0 + timedelta(seconds=30)
    assert scheduler.tick() == []  # not before its backoff
    clock.advance(timedelta(seconds=30))
    (second,) = scheduler.tick()
    assert second.status == "retrying" and second.retry_at == clock.now() + timedelta(seconds=60)
    clock.advance(timedelta(seconds=60))
    (third,) = scheduler.tick()
    assert third.status == "succeeded" and third.attempt == 3
    assert seen == [T0, T0, T0]  # every attempt is the same interval
    reasons = [e.reason for e in reversed(scheduler.ledger.events(kind="job_failed"))]
    assert reasons[0].startswith("attempt 1 failed: ZeroDivisionError: boom; tried again at")
    assert reasons[1].startswith("attempt 2 failed: OSError: disk full")
    assert not any("Traceback" in r for r in reasons)


def test_out_of_retries_a_run_fails_and_says_so(
    project: Project, declare: Callable[..., list[datetime]]
) -> None:
    def broken(_now: datetime) -> None:
        raise RuntimeError("always")

    declare("t_broken", broken, schedule="0 * * * *", retries=1)
    clock = FixedClock(T0)
    scheduler = Scheduler(project, ["t_broken"], clock=clock)
    scheduler.tick()
    clock.advance(timedelta(minutes=5))
    (last,) = scheduler.tick()
    assert last.status == "failed" and last.retry_at is None
    assert "gave up after 2 attempts" in scheduler.ledger.events(kind="job_failed")[0].reason
    clock.advance(timedelta(minutes=5))
    assert scheduler.tick() == []  # the next interval is at 11:00


def test_a_job_that_cannot_run_says_why_and_is_not_retried(
    project: Project, declare: Callable[..., list[datetime]]
) -> None:
    def not_yet(_now: datetime) -> None:
        raise CannotRun("no champion yet for energy-price-GB")

    declare("t_waits", not_yet, schedule="0 * * * *", retries=3)
    clock = FixedClock(T0)
    scheduler = Scheduler(project, ["t_waits"], clock=clock)
    (outcome,) = scheduler.tick()
    assert outcome.status == "not_run"
    (event,) = scheduler.ledger.events(kind="job_not_run")
    assert event.reason == "no champion yet for energy-price-GB"
    clock.advance(timedelta(minutes=30))
    assert scheduler.tick() == []


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout)


def test_a_run_whose_process_died_is_taken_over_and_a_live_one_is_not(
    project: Project, declare: Callable[..., list[datetime]]
) -> None:
    import socket

    seen = declare("t_orphan", schedule="0 * * * *")
    runs = JobRuns(Ledger(project.ledger_url))
    hour = timedelta(hours=1)
    dead = f"{socket.gethostname()}:{_dead_pid()}:abc123"
    assert runs.claim("t_orphan", T0 - 2 * hour, owner=dead, lease=timedelta(hours=1))
    elsewhere = "another-host:1:abc123"  # alive as far as anyone here can tell
    assert runs.claim("t_orphan", T0 - hour, owner=elsewhere, lease=timedelta(hours=1))
    assert runs.claim("t_orphan", T0, owner="gone-host:1:x", lease=timedelta(seconds=-1))
    scheduler = Scheduler(project, ["t_orphan"], clock=FixedClock(T0))
    taken = scheduler.tick()
    assert sorted(o.scheduled_for for o in taken) == [T0 - 2 * hour, T0]
    assert sorted(seen) == [T0 - 2 * hour, T0]
    assert runs.get("t_orphan", T0 - hour).status == "running"  # type: ignore[union-attr]
    assert len(scheduler.ledger.events(kind="job_run_taken_over")) == 2


def test_a_run_by_hand_is_one_interval_and_idempotent(
    project: Project, declare: Callable[..., list[datetime]]
) -> None:
    seen = declare("t_hand", schedule="*/30 * * * *")
    scheduler = Scheduler(project, clock=FixedClock(T0 + timedelta(hours=5)))
    at = T0 + timedelta(minutes=47)  # inside the 10:30 interval
    assert scheduler.run_interval("t_hand", at).status == "succeeded"
    again = scheduler.run_interval("t_hand", at)
    assert again.status == "already_done" and "--force" in again.summary
    assert seen == [T0 + timedelta(minutes=30)]
    assert scheduler.run_interval("t_hand", at, force=True).status == "succeeded"
    assert len(seen) == 2
    with pytest.raises(UsageError, match="after the clock's now"):
        scheduler.run_interval("t_hand", T0 + timedelta(days=1))
    with pytest.raises(UsageError, match="unknown job"):
        scheduler.run_interval("t_nope")


def test_job_list_shows_last_and_next_runs_and_order_follows_after(
    project: Project, declare: Callable[..., list[datetime]]
) -> None:
    declare("t_second", schedule="0 * * * *", after=["t_first"])
    declare("t_first", schedule="0 * * * *")
    assert [j.name for j in order_jobs([JOBS["t_second"], JOBS["t_first"]])] == [
        "t_first",
        "t_second",
    ]
    clock = FixedClock(T0 + timedelta(minutes=10))
    scheduler = Scheduler(project, ["t_second", "t_first"], clock=clock)
    assert [o.job for o in scheduler.tick()] == ["t_first", "t_second"]
    status = {s.job.name: s for s in job_statuses(project, clock=clock)}
    first = status["t_first"].to_dict()
    assert first["last_run"]["status"] == "succeeded"
    assert first["next_run"] == (T0 + timedelta(hours=1)).isoformat() and not first["due"]
    assert status["check"].next_run is None  # by hand only


def test_a_bad_declaration_names_the_field() -> None:
    with pytest.raises(UsageError, match="bad cron expression") as info:
        job("t_bad", "x", schedule="every day")
    assert info.value.field == "schedule"
    with pytest.raises(UsageError, match="catch-up") as info:
        job("t_bad", "x", schedule="0 * * * *", catch_up="sometimes")
    assert info.value.field == "catch_up"
    assert "t_bad" not in JOBS


def test_a_ledger_that_is_away_is_waited_for_not_a_crash(
    project: Project, declare: Callable[..., list[datetime]], caplog: pytest.LogCaptureFixture
) -> None:
    seen = declare("t_away", schedule="* * * * *")
    away = Ledger("postgresql+psycopg://postgres@127.0.0.1:1/x")  # nothing listens on port 1
    scheduler = Scheduler(project, ["t_away"], ledger=away, clock=FixedClock(T0))
    scheduler.run(threading.Event(), seconds=1.0)  # returns; does not raise
    away.close()
    assert seen == []  # nothing claimed, so nothing ran
    assert "cannot" in caplog.text and "looking again in" in caplog.text


def test_a_run_by_hand_ahead_of_the_schedule_loses_no_interval_before_it(
    project: Project, declare: Callable[..., list[datetime]]
) -> None:
    seen = declare("t_ahead", schedule="*/30 * * * *", catch_up="all")
    clock = FixedClock(T0)
    scheduler = Scheduler(project, ["t_ahead"], clock=clock)
    scheduler.tick()  # 10:00
    clock.advance(timedelta(hours=2))
    assert scheduler.run_interval("t_ahead").status == "succeeded"  # 12:00, by hand
    assert [o.scheduled_for for o in scheduler.tick()] == [
        T0 + timedelta(minutes=m) for m in (30, 60, 90)
    ]
    assert sorted(seen) == [T0 + timedelta(minutes=m) for m in (0, 30, 60, 90, 120)]


def _overlaps(ledger: Ledger, slow: str, fast: str) -> int:
    """Runs of ``fast`` that started while a run of ``slow`` was running (wall clock)."""
    runs = JobRuns(ledger)
    spans = [(r.started_at, r.finished_at) for r in runs.runs(slow) if r.finished_at]
    starts = [r.started_at for r in runs.runs(fast, limit=1000) if r.started_at]
    return sum(1 for t in starts for a, b in spans if a is not None and a < t < b)


PLUGIN_JOBS = """
import time
from heliograph.jobs import job

@job("t_slow", "a long test job", schedule="* * * * *", catch_up="latest")
def t_slow(project):
    time.sleep(2.0)
    return "slept"

@job("t_fast", "a quick test job", schedule="* * * * *", catch_up="all")
def t_fast(project):
    return "quick"
"""


def test_helio_up_runs_a_separate_job_beside_the_others_holding_none_back(
    tmp_path: Path,
) -> None:
    """With one scheduler, a retrain of minutes held every other job (predict, monitor).
    (With ``separate_jobs = []`` the same run has no overlap and one owner: checked when
    this test was written, not run each time, to keep CI short.)"""
    apart = ["t_slow"]
    (tmp_path / "pluginjobs.py").write_text(PLUGIN_JOBS)  # a plugin module declaring two jobs
    clock = {"mode": "replay", "start": "2025-06-01T00:00:00Z", "speed": 60.0}  # a minute a second
    project = init_project(
        tmp_path / "p", clock=clock, settings={"scheduler": {"separate_jobs": apart}}
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    code = "import sys, pluginjobs; from heliograph.cli import main; main(sys.argv[1:])"
    command = [sys.executable, "-c", code, "-p", str(project.root), "up", "--no-gateway",
               "--job", "t_fast", "--job", "t_slow", "--for", "8s"]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stdout + done.stderr
    ledger = Ledger(project.ledger_url)
    runs = JobRuns(ledger)
    slow, fast = runs.runs("t_slow"), runs.runs("t_fast", limit=1000)
    assert {r.status for r in [*slow, *fast]} == {"succeeded"}
    beside = _overlaps(ledger, "t_slow", "t_fast")
    owners = {r.owner for r in slow[:-1]} | {r.owner for r in fast}  # the first look: one
    ledger.close()
    # its own process (after the first look), the others on time meanwhile
    assert len(slow) >= 2 and len(owners) == 2, (slow, done.stdout)
    assert beside >= 2, (beside, done.stdout)


def test_separate_jobs_must_name_jobs(tmp_path: Path) -> None:
    project = init_project(tmp_path / "p", settings={"scheduler": {"separate_jobs": ["retrian"]}})
    command = [sys.executable, "-m", "heliograph.cli", "-p", str(project.root), "up",
               "--no-gateway", "--for", "1s"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    said = done.stdout + done.stderr
    assert done.returncode != 0 and "Traceback" not in said, said
    assert "scheduler.separate_jobs" in said and "'retrian'" in said, said
    assert JobRuns(Ledger(project.ledger_url)).runs("ingest") == []  # nothing ran first
