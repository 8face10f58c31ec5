"""The demo: `helio up` on a fresh energy project runs the whole loop, stops on Ctrl-C, resumes.

The real command in a subprocess, on the demo's configuration shortened as the other energy
tests shorten it (GB only, history from 2025-04-01) and its replay clock twice as fast. What
happened is read back from the ledger and `helio status --json`, as a person would.
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
from itertools import pairwise
from pathlib import Path

import pytest

from heliograph.core import Project, init_project, load_app
from heliograph.ledger import JobRuns, Ledger, count_predictions, ledger_counts
from heliograph.scheduler import Scheduler

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:mlflow.*")

SPEED = 7200.0  # two simulated hours a second: the demo's 3600, twice as fast


def helio(*args: str) -> list[str]:
    return [sys.executable, "-m", "heliograph.cli", *args]


def demo_project(folder: Path) -> Path:
    app = load_app("energy")
    config = app.config.replace('start = "2024-01-01"', 'start = "2025-04-01"').replace(
        'markets = ["GB", "DE", "FR"]', 'markets = ["GB"]'
    )
    assert 'start = "2025-04-01"' in config and "shifts = [" in config
    init_project(folder, extra=config, clock={**app.clock, "speed": SPEED})
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


def test_helio_up_runs_the_loop_then_stops_on_ctrl_c_and_resumes(tmp_path: Path) -> None:
    folder = demo_project(tmp_path / "demo")
    began = time.monotonic()
    first = up(folder, "--for", "75s")
    out, _ = first.communicate(timeout=240)
    assert first.returncode == 0, out
    assert "heliograph up: stopped (its time was up)" in out

    ledger = Ledger(f"sqlite:///{(folder / '.helio' / 'ledger.db').resolve()}")
    events = list(reversed(ledger.events(limit=5000)))  # oldest first
    kinds = [e.kind for e in events]
    # data arriving and checked, a first model trained and served, asked every 30 minutes
    served = [i for i, e in enumerate(events) if e.kind == "alias_moved" and "champion" in e.reason]
    assert served and kinds.index("retrained") < served[0], kinds[:20]
    runs = JobRuns(ledger)
    done = {name: [r for r in runs.runs(name, limit=500) if r.status == "succeeded"]
            for name in ("ingest", "snapshot", "retrain", "promote", "predict", "actuals",
                         "monitor")}  # fmt: skip
    assert all(done.values()), {k: len(v) for k, v in done.items()}
    assert "quarantined" in done["ingest"][-1].summary  # each partition checked on arrival
    predicted = sorted(r.scheduled_for for r in done["predict"])
    steps = {b - a for a, b in pairwise(predicted)}
    assert min(steps).total_seconds() == 1800  # every 30 simulated minutes
    url = ledger.url
    assert count_predictions(url, role="champion") >= 10
    counts = ledger_counts(ledger)
    assert counts["actuals"] > 0, counts  # realised prices joined to what they judge
    # live metrics and drift, stored per version and window; the shift raised alerts
    status = json.loads(
        subprocess.run(
            helio("-p", str(folder), "status", "--json"),
            capture_output=True, text=True, check=True, timeout=120,
        ).stdout
    )  # fmt: skip
    assert status["ledger"]["events"].get("alert_raised", 0) > 0, status["ledger"]
    [service] = status["services"]
    assert service["models"]["energy-price-GB"]["champion"] == "1"
    wall = time.monotonic() - began

    # again: Ctrl-C once the first interval has run stops cleanly, nothing left running
    second = up(folder)
    assert second.stdout is not None
    seen = []
    for line in second.stdout:
        seen.append(line)
        if " succeeded" in line:
            second.send_signal(signal.SIGINT)
            break
    rest, _ = second.communicate(timeout=120)
    assert second.returncode == 0, "".join(seen) + rest
    assert "heliograph up: stopped" in rest and "Traceback" not in rest
    statuses = {r.status for name in done for r in runs.runs(name, limit=500)}
    assert "running" not in statuses
    # it resumed where the first run stopped: no interval ran twice, the newest came after
    again = [r for r in runs.runs("ingest", limit=500) if r.status == "succeeded"]
    assert len({r.scheduled_for for r in again}) == len(again)
    assert max(r.scheduled_for for r in again) > max(r.scheduled_for for r in done["ingest"])

    # by hand, through the scheduler: an interval already done is not done twice
    before = count_predictions(url)
    outcome = Scheduler(Project.load(folder), ["predict"]).run_interval("predict", predicted[0])
    assert outcome.status == "already_done" and outcome.scheduled_for == predicted[0]
    assert count_predictions(url) == before
    print(f"demo test: the first run took {wall:.0f} s of wall time")
