"""The demo: `helio up` on a fresh energy project runs the whole loop, stops on Ctrl-C, resumes.

The real command in a subprocess, on the demo's configuration shortened as the other energy
tests shorten it (GB only, history from 2025-02-15), its clock slower. What happened is read
back from the ledger and `helio status --json`, as a person would.
The full five-minute demo (three markets, to the promotion) is measured, not run here: see
docs/scheduler.md.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from heliograph.core import Project, init_project, load_app
from heliograph.ledger import JobRun, JobRuns, Ledger, count_predictions, ledger_counts
from heliograph.scheduler import Scheduler

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:mlflow.*")

# Ten simulated minutes a second (the demo: an hour). The test reads what happened at each
# stage; at the demo's speed a slow first look (training under load) would carry the clock
# past the week of predictions the actuals job looks back over.
SPEED = 600.0
BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def demo_timeline(root: Path) -> dict[str, Any]:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import demo  # benchmarks/demo.py
    finally:
        sys.path.remove(str(BENCHMARKS))
    found: dict[str, Any] = demo.timeline(root)
    return found


def helio(*args: str) -> list[str]:
    return [sys.executable, "-m", "heliograph.cli", *args]


def demo_project(folder: Path) -> Path:
    app = load_app("energy")
    config = app.config.replace('start = "2024-01-01"', 'start = "2025-02-15"').replace(
        'markets = ["GB", "DE", "FR"]', 'markets = ["GB"]'
    )
    assert 'start = "2025-02-15"' in config and "shifts = [" in config
    # as `helio init --app energy` writes it: with the demo's drift settings
    init_project(folder, extra=config, clock={**app.clock, "speed": SPEED}, settings=app.settings)
    return folder


def up(folder: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    env.pop("HELIO_PROJECT", None)
    return subprocess.Popen(
        helio("-p", str(folder), "up", "--no-gateway", *extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def finish(proc: subprocess.Popen[str], timeout: float) -> str:
    """What ``proc`` printed, once it exited by itself (killed if it does not in time)."""
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise AssertionError(f"helio up did not stop within {timeout:g} s:\n{out}") from None
    assert proc.returncode == 0, out
    return out


def succeeded(runs: JobRuns, name: str) -> list[JobRun]:
    return [r for r in runs.runs(name, limit=500) if r.status == "succeeded"]


def test_helio_up_runs_the_loop_then_stops_on_ctrl_c_and_resumes(tmp_path: Path) -> None:
    folder = demo_project(tmp_path / "demo")
    ledger = Ledger(f"sqlite:///{(folder / '.helio' / 'ledger.db').resolve()}")
    runs, url = JobRuns(ledger), ledger.url
    timings = {}

    # the first look: data arriving and checked, a first model trained, served and asked
    began = time.monotonic()
    out = finish(up(folder, "--for", "1s"), timeout=600)
    timings["first look"] = time.monotonic() - began
    assert "heliograph up: stopped (its time was up)" in out
    events = list(reversed(ledger.events(limit=5000)))  # oldest first
    kinds = [e.kind for e in events]
    served = [i for i, e in enumerate(events) if e.kind == "alias_moved" and "champion" in e.reason]
    assert served and kinds.index("retrained") < served[0], kinds[:20]
    for name in ("ingest", "snapshot", "retrain", "promote", "predict"):
        assert succeeded(runs, name), name
    assert " 0 quarantined" in succeeded(runs, "ingest")[0].summary  # checked on arrival
    assert count_predictions(url, role="champion") == 1  # GB's question at the first look

    # resumed until 6 hours into the replay (it began after the first look): actuals,
    # predictions every 30 simulated minutes, live metrics; no drift verdict yet (the demo's
    # drift window needs a day of questions), so no drift alert before the shift
    began = time.monotonic()
    jobs = [arg for name in ("ingest", "actuals", "materialize", "monitor", "predict")
            for arg in ("--job", name)]  # fmt: skip
    out = finish(up(folder, "--until", "2025-06-01T06:00:00Z", *jobs), timeout=300)
    timings["catch-up"] = time.monotonic() - began
    predicted = sorted(r.scheduled_for for r in succeeded(runs, "predict"))
    assert {b - a for a, b in pairwise(predicted[1:])} == {timedelta(minutes=30)}, predicted
    assert len(predicted) >= 4 and ledger_counts(ledger)["actuals"] > 0
    status = json.loads(
        subprocess.run(
            helio("-p", str(folder), "status", "--json"),
            capture_output=True, text=True, check=True, timeout=120,
        ).stdout
    )  # fmt: skip
    assert status["ledger"]["events"].get("alert_raised", 0) > 0, (status["ledger"], out)
    [service] = [s for s in status["services"] if s["service"] == "price-forecast"]
    assert service["models"]["energy-price-GB"]["champion"] == "1"
    drift = [e for e in ledger.events(kind="alert_raised", limit=5000) if "drifted" in e.reason]
    assert drift == [], [(e.at, e.reason) for e in drift]
    assert any("no drift verdict" in r.summary for r in succeeded(runs, "monitor")), out
    # benchmarks/demo.py, which times the full demo, reads these steps back from the ledger
    steps = demo_timeline(folder)["steps"]
    for step in ("data_checked", "first_champion", "predictions", "actuals", "live_metrics"):
        assert 0 <= steps[step]["minutes"] < timings["first look"] / 60 + 10, steps
    assert "0 quarantined" in steps["data_checked"]["says"]
    assert steps["drift_alert"]["minutes"] is None and steps["promotion"]["minutes"] is None

    # Ctrl-C once the first interval has run: it stops cleanly, nothing is left running
    began = time.monotonic()
    third = up(folder)
    assert third.stdout is not None
    seen = []
    for line in third.stdout:
        seen.append(line)
        if " succeeded" in line:
            third.send_signal(signal.SIGINT)
            break
    rest = finish(third, timeout=300)
    timings["ctrl-c"] = time.monotonic() - began
    assert "heliograph up: stopped" in rest and "Traceback" not in rest, "".join(seen) + rest
    assert "running" not in {r.status for r in runs.runs("ingest", limit=500)}
    # it resumed where the last run stopped: no interval ran twice, the newest came after
    again = succeeded(runs, "ingest")
    assert len({r.scheduled_for for r in again}) == len(again) >= 3

    # by hand, through the scheduler: an interval already done is not done twice
    before = count_predictions(url)
    outcome = Scheduler(Project.load(folder), ["predict"]).run_interval("predict", predicted[0])
    assert outcome.status == "already_done" and outcome.scheduled_for == predicted[0]
    assert count_predictions(url) == before
    print("demo test, wall seconds:", {k: round(v) for k, v in timings.items()})
