"""``helio up``: the whole system in one command, the scheduler and the gateway.

The scheduler runs in this process, on the project's clock (an accelerated replay in the demo,
real time in production); the gateway is ``helio serve`` in a child process, restarted if it
stops, and stopped with this one (on Linux also when this process is killed outright).
On a fresh project with a replayed clock, the first look (the history up to the clock's start,
its checks, a first model trained and served) runs at the start, and the replay begins when
it is done (the gateway starts then). Ctrl-C or SIGTERM stops cleanly: the running job
finishes, then the gateway drains; a second Ctrl-C interrupts the job (its interval is due
again at the next start). Running it again resumes: each job catches up what it missed, by
its policy.

``--once`` runs what is due once and exits (no gateway); ``--for 10m`` and ``--until TIME``
(on the project's clock) bound a run.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from types import FrameType
from typing import Annotated

import typer

from heliograph.core import Project, ReplayClock, UsageError

from ._jobs import parse_time
from ._main import app, console, err, project_of

__all__: list[str] = []

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str | None) -> float | None:
    """``90``, ``30s``, ``10m``, ``2h``: wall-clock seconds."""
    if value is None:
        return None
    text = value.strip().lower()
    unit = _UNITS.get(text[-1:], None)
    try:
        seconds = float(text[:-1] if unit else text) * (unit or 1)
    except ValueError:
        seconds = -1
    if seconds <= 0:
        raise UsageError(
            f"--for {value!r} is not a duration",
            field="for",
            rule="a positive number of seconds, or with a unit: 30s, 10m, 2h, 1d",
        )
    return seconds


def _die_with_parent() -> None:  # pragma: no cover (runs in the child, before exec)
    """Linux: the gateway gets SIGTERM when ``helio up`` dies, even by SIGKILL."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def stop_child(proc: subprocess.Popen[bytes] | None, timeout: float) -> None:
    """Stop a child ``helio up`` started: SIGTERM, then SIGKILL after ``timeout`` seconds."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Gateway:
    """``helio serve`` as a child process, restarted with backoff when it stops by itself."""

    def __init__(self, project: Project) -> None:
        self.command = [sys.executable, "-m", "heliograph.cli", "-p", str(project.root), "serve"]
        self.proc: subprocess.Popen[bytes] | None = None
        self.stopping = threading.Event()
        self.watcher = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        self._spawn()
        self.watcher.start()

    def _spawn(self) -> None:
        preexec = _die_with_parent if sys.platform.startswith("linux") else None
        self.proc = subprocess.Popen(self.command, start_new_session=True, preexec_fn=preexec)

    def _watch(self) -> None:
        backoff = 1.0
        while not self.stopping.is_set():
            assert self.proc is not None
            started = time.monotonic()
            code = self.proc.wait()
            if self.stopping.is_set():
                return
            if time.monotonic() - started > 60:
                backoff = 1.0
            err.print(f"gateway stopped (exit {code}); starting it again in {backoff:g} s")
            if self.stopping.wait(backoff):
                return
            backoff = min(backoff * 2, 30.0)
            self._spawn()

    def stop(self, timeout: float = 40.0) -> None:
        """SIGTERM (the gateway drains its requests and ledger queue), SIGKILL after timeout."""
        self.stopping.set()
        stop_child(self.proc, timeout)


@app.command()
def up(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="Run what is due once, then exit (no gateway).")
    ] = False,
    for_: Annotated[
        str | None, typer.Option("--for", help="Stop after this long (wall clock): 30s, 10m.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Stop when the project's clock passes this time.")
    ] = None,
    gateway: Annotated[
        bool, typer.Option("--gateway/--no-gateway", help="Start the gateway too.")
    ] = True,
    jobs: Annotated[
        list[str] | None, typer.Option("--job", help="Only this job (repeat for more).")
    ] = None,
) -> None:
    """Run the whole system: every job on its schedule, and the gateway (Ctrl-C stops it)."""
    from heliograph.scheduler import RunOutcome, Scheduler

    project = project_of(ctx)
    seconds = parse_duration(for_)
    stop_at = parse_time(until, "--until")
    scheduler = Scheduler(project, jobs or None)
    console.print(
        f"heliograph up: project {project.settings.project.name}, clock "
        f"{scheduler.clock.describe()}, jobs {', '.join(j.name for j in scheduler.jobs)}"
    )
    if once:
        from heliograph.jobs import JOBS

        for outcome in scheduler.tick():
            for line in JOBS[outcome.job].lines(outcome.result):
                console.print(line)
            console.print(outcome.line())
        project.mark_replay_began()  # that look was the first: a later `helio up` goes on
        return

    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        err.print("stopping after the running job (Ctrl-C again to interrupt it)")

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    child = Gateway(project) if gateway else None
    from ._dashboard import DashboardChild  # [dashboard] enabled: started with the gateway

    board = DashboardChild(project)
    began = time.monotonic()
    try:

        def report(outcome: RunOutcome) -> None:
            console.print(outcome.line())

        if not project.replay_began():
            # The first look of a fresh replay (the history before the clock's start ingested,
            # checked, a first model trained and served) runs at the start, whatever moved the
            # clock before (`helio status`, the dashboard); the replay begins once the look is
            # done, so however long it took, the replayed days come after it. Stopped during
            # the look, the next `helio up` looks again (what was done is not run twice).
            first = project.restart_replay(began=False)
            scheduler.clock = first
            start = first.start if isinstance(first, ReplayClock) else first.now()
            scheduler.tick(start, stop=stop, report=report)
            if not stop.is_set():
                scheduler.clock = project.restart_replay(began=True)
                console.print(f"the replay starts: clock {scheduler.clock.describe()}")
        if child is not None and not stop.is_set():
            child.start()
            board.start()
        left = None if seconds is None else max(0.0, seconds - (time.monotonic() - began))
        if not stop.is_set() and left != 0.0:
            scheduler.run(stop, until=stop_at, seconds=left, report=report)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if child is not None:
            child.stop()
        board.stop()
        scheduler.ledger.close()
    console.print("heliograph up: stopped" + ("" if stop.is_set() else " (its time was up)"))
