"""Prometheus metrics of one gateway: requests, latency, versions served, ledger backlog.

Example::

    body, content_type = GatewayMetrics(gateway).render()
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from heliograph.registry import PREVIOUS

__all__ = ["GatewayMetrics"]

_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class _Live:
    """Values read at scrape time: versions served, ledger queue and spool."""

    def __init__(self, gateway: Any) -> None:
        self.gateway = gateway

    def collect(self) -> Iterator[GaugeMetricFamily]:
        served = GaugeMetricFamily(
            "helio_model_served",
            "1 for each model version served, by role",
            labels=["model", "role", "version"],
        )
        for (name, role), model in self.gateway.store.snapshot().items():
            if role != PREVIOUS:  # loaded for a rollback, not served
                served.add_metric([name, role, model.version], 1)
        yield served
        stats = self.gateway.writer.stats()
        for key, text in (
            ("queue_depth", "predictions waiting to be written"),
            ("spooled", "predictions in the spool, waiting for the database"),
            ("written", "predictions written to the ledger since start"),
        ):
            gauge = GaugeMetricFamily(f"helio_ledger_{key}", text)
            gauge.add_metric([], float(stats.get(key, 0)))
            yield gauge
        up = GaugeMetricFamily("helio_ledger_up", "1 when the ledger database is reachable")
        up.add_metric([], 1.0 if stats.get("db_up") else 0.0)
        yield up
        swaps = GaugeMetricFamily("helio_model_swaps", "model versions swapped in since start")
        swaps.add_metric([], float(self.gateway.follower.swaps))
        yield swaps
        memory = self.gateway.answers
        answers = GaugeMetricFamily(
            "helio_answers", "domain answers since start: computed, or remembered", labels=["how"]
        )
        answers.add_metric(["computed"], float(memory.computed))
        answers.add_metric(["remembered"], float(memory.remembered))
        yield answers


class GatewayMetrics:
    def __init__(self, gateway: Any) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "helio_requests", "HTTP requests", ["route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "helio_request_seconds",
            "HTTP request latency",
            ["route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.shadow_skipped = Counter(
            "helio_shadow_skipped",
            "challenger predictions skipped: shadow queue full",
            registry=self.registry,
        )
        self.shadow_failed = Counter(
            "helio_shadow_failed", "challenger predictions that failed", registry=self.registry
        )
        self.registry.register(_Live(gateway))

    def observe(self, route: str, status: int, seconds: float) -> None:
        self.requests.labels(route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
