"""The servers under test (``helio serve``, ``mlflow models serve``) as processes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._common import BIN, HOST, LGBM, PYTHON, free_port, log

# ---------------------------------------------------------------------------------------------
# servers


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, path: str, timeout: float = 180.0) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited ({self.process.returncode}):\n{self.tail()}")
            try:
                with urllib.request.urlopen(self.base + path, timeout=2) as answer:
                    if answer.status == 200:
                        return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.25)
        self.stop()
        raise SystemExit(f"{self.name} not ready after {timeout:.0f} s:\n{self.tail()}")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) of every live process of the server's process group."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == self.process.pid:  # its process group
                    total += (int(fields[11]) + int(fields[12])) / tick
        return total

    def kill(self) -> None:
        """SIGKILL the whole process group (every worker), as a crash would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout: float = 90.0) -> tuple[int | None, float]:
        """SIGTERM and wait; (exit status, seconds it took)."""
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log(f"{self.name} ignored SIGTERM for {timeout:.0f} s: killing it")
                self.process.kill()
                self.process.wait()
        return self.process.returncode, time.monotonic() - started


def start_server(name: str, command: list[str], env: dict[str, str], workdir: Path) -> Server:
    port = free_port()
    command = [c.replace("{port}", str(port)) for c in command]
    log_path = workdir / f"{name}.log"
    out = log_path.open("wb")
    process = subprocess.Popen(
        command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    out.close()
    return Server(name, process, port, log_path)


@contextlib.contextmanager
def serving(
    name: str, command: list[str], env: dict[str, str], workdir: Path, ready: str
) -> Iterator[Server]:
    server = start_server(name, command, env, workdir)
    try:
        seconds = server.wait_ready(ready)
        log(f"{name} ready on port {server.port} after {seconds:.1f} s")
        yield server
    finally:
        status, seconds = server.stop()
        log(f"{name} stopped (exit status {status}) in {seconds:.1f} s")


def helio_env(project: Any, **overrides: str) -> dict[str, str]:
    env = {
        **os.environ,
        "HELIO_PROGRESS": "0",
        "HELIO_CLOCK__MODE": "real",
        "HELIO_GATEWAY__INVOCATIONS_MODEL": LGBM,
        "PYTHONWARNINGS": "ignore",
    }
    env.pop("HELIO_PROJECT", None)
    env.update(overrides)
    return env


def helio_command(project: Any, *extra: str) -> list[str]:
    helio = BIN / "helio"
    base = [str(helio)] if helio.exists() else [PYTHON, "-m", "heliograph.cli"]
    return [*base, "-p", str(project.root), "serve", "--host", HOST, "--port", "{port}", *extra]


# ---------------------------------------------------------------------------------------------
# wrk
