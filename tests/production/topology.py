"""Gateway replicas as real processes: start N `helio serve`, drive requests at them, stop."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from heliograph.core import Project
from tests.gateway.test_workers import free_port, get


@dataclass
class Replica:
    """One `helio serve` process (its own port, the shared ledger, store and registry)."""

    process: subprocess.Popen[str]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def served(self, model: str) -> str | None:
        """The version this replica serves as champion of ``model``, from /v1/services."""
        status, _, text = get(f"{self.base}/v1/services")
        if status != 200:
            return None
        for loaded in json.loads(text)["loaded"]:
            if loaded["model"] == model and loaded["role"] == "champion":
                return str(loaded["version"])
        return None

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait()


def start_replicas(project: Project, env: Mapping[str, str], count: int) -> list[Replica]:
    """``count`` gateway replicas of ``project``, each its own process and port."""
    replicas = []
    for index in range(count):
        port = free_port()
        log = project.root / f"replica-{index}.log"
        serve = ("serve", "--port", str(port))
        with open(log, "w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "heliograph.cli", "-p", str(project.root), *serve],
                env={**os.environ, **env, "HELIO_PROGRESS": "0", "PYTHONWARNINGS": "ignore"},
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
        replicas.append(Replica(process, port, log))
    return replicas


def wait_until(replicas: Sequence[Replica], ready: str, timeout: float = 120) -> None:
    """Until every replica answers 200 at ``ready`` (a path)."""
    deadline = time.monotonic() + timeout
    for replica in replicas:
        while True:
            if replica.process.poll() is not None:
                raise AssertionError("replica exited:\n" + replica.log.read_text()[-3000:])
            try:
                if get(replica.base + ready)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("replica not ready:\n" + replica.log.read_text()[-3000:])
            time.sleep(0.2)


@dataclass
class Traffic:
    """Requests sent to replicas from one thread each until stopped: every answer counted."""

    replicas: Sequence[Replica]
    body: bytes
    path: str = "/invocations"
    statuses: dict[int, int] = field(default_factory=dict)
    request_ids: list[str] = field(default_factory=list)
    versions: set[str] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Traffic:
        for replica in self.replicas:
            thread = threading.Thread(target=self._drive, args=(replica.port,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _drive(self, port: int) -> None:
        con = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Content-Type": "application/json"}
        while not self._stop.is_set():
            try:
                con.request("POST", self.path, body=self.body, headers=headers)
                answer = con.getresponse()
                answer.read()
            except (OSError, http.client.HTTPException):
                con.close()
                con = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                with self._lock:
                    self.statuses[-1] = self.statuses.get(-1, 0) + 1
                time.sleep(0.05)
                continue
            with self._lock:
                self.statuses[answer.status] = self.statuses.get(answer.status, 0) + 1
                if answer.status == 200:
                    self.request_ids.append(answer.headers["X-Request-ID"])
                    self.versions.add(answer.headers.get("X-Model-Version", "?"))
            time.sleep(0.005)  # a steady trickle, not a benchmark
        con.close()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)
