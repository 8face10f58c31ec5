"""Restart safety: ``helio up`` killed with SIGKILL at random moments and started again loses
no interval and completes none twice.

``helio up --no-gateway --job tick`` runs in two subprocesses at once on one ledger (each
killed and started again in turn), on a replay clock at 600x (a minutely job: ten intervals
per second), with catch-up ``all``; the clock keeps running while they are down, so every
restart also catches up. The job writes a line when it starts and when it
ends (an append-only log, not deduplicated); the ledger keeps one row per interval.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from heliograph.core import init_project
from heliograph.ledger import JobRuns, Ledger

SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from heliograph.jobs import job

    log = sys.argv[2]

    def note(word, at):
        with open(log, "a") as f:
            f.write(f"{word} {at.isoformat()} {os.getpid()}\\n")
            f.flush()
            os.fsync(f.fileno())

    @job("tick", "a restart-safety test job", schedule="* * * * *", catch_up="all")
    def tick(project):
        at = project.clock().now()
        note("start", at)
        time.sleep(0.02)  # the job's effect takes a moment: kills land inside it too
        note("done", at)

    from heliograph.cli import main
    main(["-p", sys.argv[1], "up", "--no-gateway", "--job", "tick"])
    """
)
KILLS = 10


def _lines(log: Path) -> list[list[str]]:
    if not log.exists():
        return []
    return [line.split() for line in log.read_text().splitlines() if line.count(" ") == 2]


def _start(script: Path, root: Path, log: Path, out: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELIO_")}
    with out.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, str(script), str(root), str(log)],
            env={**env, "HELIO_PROGRESS": "0"},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


def _wait_for_a_run(proc: subprocess.Popen[bytes], log: Path, out: Path) -> None:
    """Until this process has started a run (it is up, and holding intervals)."""
    deadline = time.monotonic() + 60
    while not any(pid == str(proc.pid) for _, _, pid in _lines(log)):
        assert proc.poll() is None, out.read_text()
        assert time.monotonic() < deadline, "helio up ran nothing in 60 s"
        time.sleep(0.02)


def _kill_and_restart(script: Path, root: Path, log: Path, out: Path, rng: random.Random) -> None:
    for _ in range(KILLS // 2):
        proc = _start(script, root, log, out)
        _wait_for_a_run(proc, log, out)
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        time.sleep(rng.uniform(0.0, 0.2))  # down for a moment: the clock runs on


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    root = tmp_path / "p"
    init_project(root, clock={"mode": "replay", "start": "2025-06-01T00:00:00Z", "speed": 600.0})
    script, log, out = tmp_path / "up.py", tmp_path / "effects.log", tmp_path / "up.out"
    script.write_text(SCRIPT)
    seed = random.randrange(1_000_000)
    slots = [
        threading.Thread(
            target=_kill_and_restart, args=(script, root, log, out, random.Random(seed + i))
        )
        for i in range(2)
    ]
    for slot in slots:
        slot.start()
    for slot in slots:
        slot.join()
    proc = _start(script, root, log, out)  # and a last start, stopped cleanly by Ctrl-C
    _wait_for_a_run(proc, log, out)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0, out.read_text()
    assert "heliograph up: stopped" in out.read_text() and "Traceback" not in out.read_text()

    ledger = Ledger(f"sqlite:///{root / '.helio' / 'ledger.db'}")
    rows = sorted(JobRuns(ledger).runs("tick", limit=100_000), key=lambda r: r.scheduled_for)
    ledger.close()
    times = [r.scheduled_for for r in rows]
    # Each life is short (killed within 0.4 s of its first run), so the scheduler is always
    # catching up: the intervals it reached are contiguous, whatever their number.
    assert len(times) >= 20, f"seed {seed}: only {len(times)} intervals ran"
    gaps = [b - a for a, b in itertools.pairwise(times) if (b - a).total_seconds() != 60]
    assert not gaps, f"seed {seed}: intervals lost between runs: {gaps[:5]}"  # none lost
    assert {r.status for r in rows} == {"succeeded"}, f"seed {seed}"
    lines = _lines(log)
    done = Counter(at for word, at, _ in lines if word == "done")
    started = Counter(at for word, at, _ in lines if word == "start")
    assert set(done) == {t.isoformat() for t in times}, f"seed {seed}"  # each one's effect
    # A run is started again only when a kill interrupted it (before the ledger heard it end):
    # never twice otherwise, never in two processes at once.
    again = sum(n - 1 for n in started.values())
    assert again <= KILLS, f"seed {seed}: {again} runs repeated for {KILLS} kills"
    assert sum(n - 1 for n in done.values()) <= KILLS, f"seed {seed}"
