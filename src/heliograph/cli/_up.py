"""``helio up``: the whole system in one command, the scheduler and the gateway.

The scheduler runs in this process, on the project's clock (an accelerated replay in the
demo, real time in production): the jobs ``[scheduler] separate_jobs`` names (``retrain``)
each in a child process of their own, so that a long run holds no other job back, the rest
in turn in this one.
The gateway is ``helio serve`` in a child process, restarted if it stops, and stopped with
this one (on Linux also when this process is killed outright). On a fresh project with a
replayed clock, the first look (the history up to the clock's start, its checks, a first
model trained and served) runs at the start, every job in turn, and the replay begins when
it is done (the gateway starts then). Ctrl-C or SIGTERM stops cleanly: the running jobs
finish, then the gateway drains; a second Ctrl-C interrupts them (their intervals are due
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
from typing import TYPE_CHECKING, Annotated

import typer

from heliograph.core import ConfigError, Project, ReplayClock, UsageError

from ._jobs import parse_time
from ._main import app, console, err, project_of

if TYPE_CHECKING:
    from heliograph.scheduler import RunOutcome, Scheduler

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


class Child:
    """A child process of ``helio up`` (``command``), restarted with backoff when it stops by
    itself, stopped with ``up``: the gateway, and the scheduler of each separate job."""

    def __init__(self, command: list[str], name: str) -> None:
        self.command = command
        self.name = name
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
            err.print(f"{self.name} stopped (exit {code}); starting it again in {backoff:g} s")
            if self.stopping.wait(backoff):
                return
            backoff = min(backoff * 2, 30.0)
            self._spawn()

    def stop(self, timeout: float = 40.0) -> None:
        """SIGTERM (the gateway drains its requests and ledger queue; a scheduler finishes
        its running job), SIGKILL after ``timeout`` seconds."""
        self.stopping.set()
        stop_child(self.proc, timeout)


def gateway_child(project: Project) -> Child:
    """``helio serve`` for ``helio up``."""
    command = [sys.executable, "-m", "heliograph.cli", "-p", str(project.root), "serve"]
    return Child(command, "gateway")


# The scheduler of one separate job: a fresh interpreter that imports the module declaring
# the job (a job an app or a plugin module declares is found as it was here), then runs
# `helio up --no-gateway --job NAME`.
_SEPARATE = (
    "import importlib, sys; importlib.import_module(sys.argv[1]); "
    "from heliograph.cli import main; "
    "main(['-p', sys.argv[2], 'up', '--no-gateway', '--job', sys.argv[3]])"
)
SEPARATE_STOP_SECONDS = 300.0
"""How long ``helio up`` waits, when it stops, for a separate job's running run to finish
before it kills it (the interval is then run again at the next start)."""


def separate_jobs(project: Project) -> list[str]:
    """``[scheduler] separate_jobs``, each checked to name a job."""
    from heliograph.jobs import JOBS

    apart = project.settings.scheduler.separate_jobs
    for name in apart:
        if name not in JOBS:
            raise ConfigError(
                f"[scheduler] separate_jobs names {name!r}, which is not a job",
                file=str(project.config_path),
                field="scheduler.separate_jobs",
                rule="names of jobs: " + ", ".join(JOBS),
            )
    return list(apart)


def separate(project: Project, scheduler: Scheduler) -> tuple[Scheduler, list[Child]]:
    """``scheduler`` less the jobs ``[scheduler] separate_jobs`` names, and a child process
    for each of those it runs: a scheduler of its own, so that a long run (a retrain) holds
    no other job back, and runs on a core of its own. A name that is not a job is a
    configuration error; a job declared in ``__main__`` (a script) cannot be found by a
    child, so it stays with the others."""
    from heliograph.scheduler import Scheduler

    apart = separate_jobs(project)
    names = [j.name for j in scheduler.jobs]
    modules = {j.name: j.run.__module__ for j in scheduler.jobs}
    side = [n for n in names if n in apart and modules[n] != "__main__"]
    for name in sorted({n for n in names if n in apart} - set(side)):
        err.print(f"{name} runs with the other jobs: declared in a script (__main__), a "
                  "separate scheduler process could not find it")  # fmt: skip
    if not side or len(side) == len(names):
        return scheduler, []
    rest = Scheduler(project, [n for n in names if n not in side], ledger=scheduler.ledger,
                     clock=scheduler.clock, owner=scheduler.owner)  # fmt: skip
    root = str(project.root)
    children = [
        Child([sys.executable, "-c", _SEPARATE, modules[n], root, n], f"the {n} scheduler")
        for n in side
    ]
    return rest, children


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
    from heliograph.scheduler import Scheduler

    project = project_of(ctx)
    seconds = parse_duration(for_)
    stop_at = parse_time(until, "--until")
    scheduler = Scheduler(project, jobs or None)
    separate_jobs(project)  # a wrong name fails now, not after a first look of minutes
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
    child = gateway_child(project) if gateway else None
    separated: list[Child] = []
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
            scheduler, separated = separate(project, scheduler)
            for one in separated:
                one.start()
            scheduler.run(stop, until=stop_at, seconds=left, report=report)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for one in separated:
            one.stop(SEPARATE_STOP_SECONDS)
        if child is not None:
            child.stop()
        board.stop()
        scheduler.ledger.close()
    console.print("heliograph up: stopped" + ("" if stop.is_set() else " (its time was up)"))
