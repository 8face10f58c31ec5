"""Prometheus metrics of the gateway: requests, latency, versions served, ledger backlog.

With ``helio serve --workers N`` every worker writes its figures to the folder named by
``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode, set by ``helio serve``),
and ``/metrics``, whichever worker answers it, reports all live workers together: counters and
histograms summed over every worker that ran since the start, the ledger gauges summed over
the live workers (``helio_ledger_up``: their minimum), ``helio_model_served`` 1 for a version
that some live worker serves (0 for one served earlier), ``helio_workers`` the number of live
workers. The worker that answered is in the ``X-Helio-Worker`` header (its spool folder's
number) and in ``helio_worker_answering``. Each worker refreshes its gauges every second and
on each scrape it answers, so another worker's gauges may be up to a second old.

Example::

    body, content_type = GatewayMetrics(gateway).render()
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from heliograph.registry import PREVIOUS

__all__ = ["GatewayMetrics"]

_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_LEDGER = (
    ("queue_depth", "predictions waiting to be written"),
    ("spooled", "predictions in the spool, waiting for the database"),
    ("written", "predictions written to the ledger since start"),
)
_REFRESH_S = 1.0  # how often a worker publishes its gauges for the others


def multiprocess_dir() -> Path | None:
    """The folder the workers of ``helio serve --workers N`` share their figures in, if any."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(folder) if folder else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class GatewayMetrics:
    """The gateway's Prometheus figures; aggregated over workers in multiprocess mode."""

    def __init__(self, gateway: Any, worker: str = "0") -> None:
        self.gateway, self.worker = gateway, worker
        self.folder = multiprocess_dir()
        self.registry = CollectorRegistry()
        registry = self.registry

        def gauge(name: str, text: str, mode: str, labels: tuple[str, ...] = ()) -> Gauge:
            return Gauge(name, text, labels, registry=registry, multiprocess_mode=mode)  # type: ignore[arg-type]

        self.requests = Counter(
            "helio_requests", "HTTP requests", ["route", "status"], registry=registry
        )
        self.latency = Histogram(
            "helio_request_seconds",
            "HTTP request latency",
            ["route"],
            buckets=_BUCKETS,
            registry=registry,
        )
        self.shadow_skipped = Counter(
            "helio_shadow_skipped",
            "challenger predictions skipped: shadow queue full",
            registry=registry,
        )
        self.shadow_failed = Counter(
            "helio_shadow_failed", "challenger predictions that failed", registry=registry
        )
        self.served = gauge(
            "helio_model_served",
            "1 for each model version served (by some live worker), by role",
            "livemax",
            ("model", "role", "version"),
        )
        self.ledger = {key: gauge(f"helio_ledger_{key}", text, "livesum") for key, text in _LEDGER}
        self.ledger_up = gauge(
            "helio_ledger_up", "1 when the ledger database is reachable", "livemin"
        )
        self.swaps = gauge("helio_model_swaps", "model versions swapped in since start", "livesum")
        self.workers = gauge("helio_workers", "live gateway worker processes", "livesum")
        self.answers = gauge(
            "helio_answers",
            "domain answers since start (live workers): computed, or remembered",
            "livesum",
            ("how",),
        )
        self.answering = gauge(
            "helio_worker_answering",
            "the worker that answered this scrape (its spool folder's number)",
            "livemax",
        )
        self._served_labels: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def observe(self, route: str, status: int, seconds: float) -> None:
        self.requests.labels(route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def refresh(self) -> None:
        """Set the gauges from this worker's state now."""
        with self._lock:
            served = {
                (name, role, model.version)
                for (name, role), model in self.gateway.store.snapshot().items()
                if role != PREVIOUS  # loaded for a rollback, not served
            }
            for labels in self._served_labels | served:
                self.served.labels(*labels).set(1 if labels in served else 0)
            self._served_labels |= served
            stats = self.gateway.writer.stats()
            for key, gauge in self.ledger.items():
                gauge.set(float(stats.get(key, 0)))
            self.ledger_up.set(1.0 if stats.get("db_up") else 0.0)
            self.swaps.set(float(self.gateway.follower.swaps))
            self.workers.set(1.0)
            memory = self.gateway.answers
            self.answers.labels("computed").set(float(memory.computed))
            self.answers.labels("remembered").set(float(memory.remembered))

    def render(self) -> tuple[bytes, str]:
        """The exposition text: this process's figures, or every worker's in multiprocess mode."""
        self.refresh()
        if self.folder is None:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        self.answering.set(float(self.worker) if self.worker.isdigit() else 0.0)
        try:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, str(self.folder))
            return generate_latest(registry), CONTENT_TYPE_LATEST
        finally:
            self.answering.set(-1.0)  # livemax: the others' -1 leave this scrape's value

    def start(self) -> None:
        """In multiprocess mode, publish this worker's gauges every second (a thread)."""
        if self.folder is None or self._thread is not None:
            return
        self.answering.set(-1.0)
        self._thread = threading.Thread(target=self._run, name="helio-metrics", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(_REFRESH_S):
            with contextlib.suppress(Exception):  # figures are best effort, serving is not
                self.refresh()
                self._forget_dead()

    def _forget_dead(self) -> None:
        """Drop the live gauges of workers that died without saying so (SIGKILL)."""
        assert self.folder is not None
        pids = set()
        for path in self.folder.glob("gauge_live*_*.db"):
            with contextlib.suppress(ValueError):
                pids.add(int(path.stem.rsplit("_", 1)[1]))
        for pid in pids:
            if not _alive(pid):
                mark_process_dead(pid, str(self.folder))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self.folder is not None:
            with contextlib.suppress(OSError):
                mark_process_dead(os.getpid(), str(self.folder))
