"""A Python load generator that records every response (status, version, times)."""

from __future__ import annotations

import http.client
import math
import threading
import time
from dataclasses import dataclass, field

from ._common import HOST


@dataclass
class Result:
    sent: float
    received: float
    status: int
    version: str | None
    request_id: str | None = None


@dataclass
class LoadGenerator:
    port: int
    path: str
    body: bytes
    threads: int = 8
    results: list[list[Result]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def _run(self, out: list[Result]) -> None:
        headers = {"Content-Type": "application/json"}
        conn: http.client.HTTPConnection | None = None
        while not self._stop.is_set():
            if conn is None:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
            sent = time.monotonic()
            try:
                conn.request("POST", self.path, self.body, headers)
                answer = conn.getresponse()
                answer.read()
            except (OSError, http.client.HTTPException) as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                conn = None
                time.sleep(0.01)
                continue
            out.append(
                Result(
                    sent,
                    time.monotonic(),
                    answer.status,
                    answer.getheader("X-Model-Version"),
                    answer.getheader("X-Request-ID"),
                )
            )
        if conn is not None:
            conn.close()

    def start(self) -> LoadGenerator:
        for number in range(self.threads):
            out: list[Result] = []
            self.results.append(out)
            worker = threading.Thread(target=self._run, args=(out,), name=f"load-{number}")
            worker.start()
            self._workers.append(worker)
        return self

    def stop(self) -> list[Result]:
        self._stop.set()
        for worker in self._workers:
            worker.join(60)
        return sorted((r for out in self.results for r in out), key=lambda r: r.sent)


def latency_summary(results: list[Result]) -> dict[str, float | None]:
    if not results:
        return {"p50_ms": None, "p99_ms": None}
    latencies = sorted(1000 * (r.received - r.sent) for r in results)

    def pct(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, math.ceil(q * len(latencies)) - 1)], 3)

    return {"p50_ms": pct(0.50), "p99_ms": pct(0.99)}


# ---------------------------------------------------------------------------------------------
# hot swap
