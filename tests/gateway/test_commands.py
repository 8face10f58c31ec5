"""``helio serve`` and ``helio ui`` as real processes: a busy port, and stopping the parent."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from heliograph.core import init_project


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 that another process is listening on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    return init_project(tmp_path / "bare", name="bare").root


def helio(project: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "heliograph.cli", "-p", str(project), *args]


def _env() -> dict[str, str]:
    env = {**os.environ, "HELIO_PROGRESS": "0"}
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


@pytest.mark.parametrize("command", ["serve", "ui"])
def test_a_busy_port_is_a_usage_error_naming_the_setting(
    command: str, bare: Path, busy_port: int
) -> None:
    done = subprocess.run(
        helio(bare, command, "--port", str(busy_port)),
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"port {busy_port} on 127.0.0.1 is in use" in done.stderr
    assert "--port" in done.stderr
    if command == "serve":
        assert "gateway.port in helio.toml" in done.stderr
    assert "Traceback" not in done.stderr and "Errno" not in done.stderr


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _listening(port: int) -> bool:
    """Whether something accepts connections on the port (the MLflow server has bound it)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_stopping_helio_ui_stops_the_mlflow_server(bare: Path, stop: signal.Signals) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ui = subprocess.Popen(
        helio(bare, "ui", "--port", str(port)),
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(240):
            if _listening(port) and len(_descendants(ui.pid)) >= 2:
                break
            assert ui.poll() is None, ui.stderr.read().decode() if ui.stderr else ""
            time.sleep(0.5)
        else:
            pytest.fail("the MLflow UI did not start")
        children = _descendants(ui.pid)  # mlflow ui, its uvicorn, the workers being started
        ui.send_signal(stop)
        assert ui.wait(timeout=60) in (0, 130, -stop)
        for _ in range(60):
            if not any(_alive(pid) for pid in children):
                break
            time.sleep(0.5)
        assert not [pid for pid in children if _alive(pid)], "children left serving"
        assert not _listening(port)
    finally:
        if ui.poll() is None:
            ui.kill()
        ui.communicate()
        for pid in _descendants(ui.pid) if ui.poll() is None else ():
            os.kill(pid, signal.SIGKILL)
