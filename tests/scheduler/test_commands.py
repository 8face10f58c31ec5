"""`helio job list`, `helio job run NAME --at`, `helio status --json` and `helio up` as people
and tools use them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from heliograph.cli import main
from heliograph.core import Project, init_project
from heliograph.jobs import JOBS, job
from heliograph.ledger import JobRuns, Ledger

REPLAY = {"mode": "replay", "start": "2025-06-01T00:00:00Z", "speed": 3600.0}


def helio(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return init_project(tmp_path / "p", clock=REPLAY)


def replayed_for(project: Project, seconds: float) -> Project:
    """The replay began ``seconds`` ago (at 3600x: that many hours of 2025-06-01)."""
    marker = {**REPLAY, "start": "2025-06-01T00:00:00+00:00", "origin": time.time() - seconds}
    (project.state_dir / "clock.json").write_text(json.dumps(marker))
    return project


@pytest.fixture
def counted() -> Iterator[list[datetime]]:
    seen: list[datetime] = []

    def run(project: Project) -> str:
        seen.append(project.clock().now())
        return "counted"

    job("t_count", "a test job", schedule="*/30 * * * *", catch_up="all")(run)
    yield seen
    JOBS.pop("t_count")


def test_job_run_at_is_one_interval_once_unless_forced(
    project: Project, counted: list[datetime], capsys: pytest.CaptureFixture[str]
) -> None:
    p = str(replayed_for(project, 2).root)
    code, out, _ = helio(capsys, "-p", p, "job", "run", "t_count", "--at", "2025-06-01T00:40")
    assert code == 0 and "t_count 2025-06-01 00:30 UTC succeeded: counted" in out
    code, out, _ = helio(capsys, "-p", p, "job", "run", "t_count", "--at", "2025-06-01T00:59Z")
    assert code == 0 and "already done" in out and "--force" in out
    code, out, _ = helio(
        capsys, "-p", p, "job", "run", "t_count", "--at", "2025-06-01T00:30", "--force"
    )
    assert code == 0 and "succeeded" in out
    assert [f"{t:%H:%M}" for t in counted] == ["00:30", "00:30"]
    code, _, err = helio(capsys, "-p", p, "job", "run", "t_count", "--at", "yesterday")
    assert code == 2 and "--at 'yesterday' is not a time" in err and "ISO 8601" in err
    code, _, err = helio(capsys, "-p", p, "job", "run", "t_count", "--at", "2030-01-01")
    assert code == 2 and "after the clock's now" in err and "Traceback" not in err


def test_job_list_and_status_json_show_last_and_next_runs(
    project: Project, counted: list[datetime], capsys: pytest.CaptureFixture[str]
) -> None:
    p = str(replayed_for(project, 1).root)
    helio(capsys, "-p", p, "job", "run", "t_count", "--at", "2025-06-01T00:10")
    code, out, _ = helio(capsys, "-p", p, "job", "list")
    row = next(line for line in out.splitlines() if "t_count" in line)
    assert "*/30 * * * *" in row and "2025-06-01 00:00" in row and "succeeded" in row
    assert "(due)" in row  # by hand only so far: the scheduler's first look runs the newest
    assert "check" in out and "by hand" in out

    code, out, _ = helio(capsys, "-p", p, "status", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["clock"]["mode"] == "replay" and data["clock"]["now"] >= "2025-06-01T00"
    assert data["ledger"]["job_runs"] == {"succeeded": 1}
    assert data["ledger"]["predictions"] == {} and data["ledger"]["actuals"] == 0
    jobs = {j["job"]: j for j in data["jobs"]}
    assert jobs["t_count"]["last_run"]["scheduled_for"] == "2025-06-01T00:00:00+00:00"
    assert jobs["t_count"]["due"] and jobs["t_count"]["next_run"] >= "2025-06-01T01:00"
    assert data["services"] == []  # a bare project serves nothing

    code, out, _ = helio(capsys, "-p", p, "status")
    assert code == 0 and "job t_count: last 2025-06-01 00:00 succeeded" in out


def test_up_until_a_clock_time_runs_each_interval_then_stops(
    project: Project, counted: list[datetime], capsys: pytest.CaptureFixture[str]
) -> None:
    p = str(project.root)
    until = "2025-06-01T01:45"  # at 3600x: under two seconds
    code, out, err = helio(
        capsys, "-p", p, "up", "--no-gateway", "--job", "t_count", "--until", until
    )
    assert code == 0, err
    assert [f"{t:%H:%M}" for t in counted][-3:] == ["00:30", "01:00", "01:30"]
    assert "heliograph up: stopped" in out
    code, out, _ = helio(capsys, "-p", p, "up", "--once", "--job", "t_count")
    assert code == 0  # resumes: caught up to the clock's now, each interval once
    assert len(counted) == len(set(counted))
    code, _, err = helio(capsys, "-p", p, "up", "--for", "soon")
    assert code == 2 and "not a duration" in err


def test_up_looks_first_at_the_replays_start_whatever_moved_the_clock_before(
    project: Project, counted: list[datetime], capsys: pytest.CaptureFixture[str]
) -> None:
    """`helio status` (or the dashboard) read the clock 10 s before the first `helio up`: at
    3600x that is 10 h of replay, but the first look is at the start, and the replayed days
    begin after it; a marker that says the replay began (or predates the flag) resumes."""
    p = str(project.root)
    replayed_for(project, 10)  # what an earlier `helio status` left, 10 s ago
    marker = project.state_dir / "clock.json"
    marker.write_text(json.dumps({**json.loads(marker.read_text()), "began": False}))
    assert not project.replay_began()
    code, out, err = helio(capsys, "-p", p, "up", "--no-gateway", "--job", "t_count", "--for", "1s")
    assert code == 0, err
    assert f"{counted[0]:%H:%M}" == "00:00"  # the first look ran at the start, not at 10:00
    assert "the replay starts" in out
    assert Project.load(project.root).replay_began()
    marker.write_text(json.dumps({**json.loads(marker.read_text()), "began": False}))
    origin = json.loads(marker.read_text())["origin"]
    code, _, err = helio(capsys, "-p", p, "up", "--once", "--job", "t_count")
    assert code == 0, err  # a look at the clock's now: the replay began there, not restarted
    assert Project.load(project.root).replay_began()
    assert json.loads(marker.read_text())["origin"] == origin
    saved = json.loads(marker.read_text())
    saved.pop("began")  # a replay under way before the flag existed: it has begun
    marker.write_text(json.dumps(saved))
    assert Project.load(project.root).replay_began()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_up_starts_the_gateway_and_sigterm_stops_both(project: Project, tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELIO_")}
    env |= {"HELIO_PROGRESS": "0", "HELIO_GATEWAY__PORT": str(port)}
    log = tmp_path / "up.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "heliograph.cli", "-p", str(project.root), "up"],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the gateway of helio up did not answer in 90 s"
            time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = log.read_text()
    assert "gateway on http://127.0.0.1:" in output and "heliograph up: stopped" in output
    assert "Traceback" not in output
    with pytest.raises(OSError):  # the gateway went with it
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
    runs = JobRuns(Ledger(project.ledger_url)).runs()
    assert {r.job for r in runs} >= {"ingest", "snapshot"}  # the scheduler ran meanwhile
