"""The recommender served, measured: the pipeline's training, materialisation, and the
``/v1/services/recommendations/predict`` latency at 8 connections (every request a different
user, so no answer can come from memory).

Example::

    figures = serve_and_measure(reviews, items, users=2000)
    figures["service.p99_ms"]
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _gateway._servers import helio_command, helio_env, serving

from heliograph.core import PolicySettings, Project, init_project, load_app
from heliograph.jobs import materialize, snapshot
from heliograph.lake import ingest_frames, open_lake

__all__ = ["serve_and_measure"]

PATH = "/v1/services/recommendations/predict"
POLICY = PolicySettings(metric="ndcg_at_10", direction="maximize")


def _project(root: Path, reviews: pd.DataFrame, items: pd.DataFrame | None) -> Project:
    """A project of the recsys datasets only (no source), its clock just after the reviews."""
    config = load_app("recsys").config.split("[[sources]]")[0]
    start = pd.to_datetime(reviews["available_at"], utc=True).max() + pd.Timedelta(minutes=1)
    clock = {"mode": "replay", "start": start.isoformat(), "speed": 1.0}
    project = init_project(root, extra=config, clock=clock)
    frames = {"recsys_reviews": reviews}
    if items is not None:
        frames["recsys_items"] = items
    ingest_frames(open_lake(project), frames, origin="benchmark")
    snapshot(project)
    return project


def _load(port: int, bodies: list[bytes], threads: int = 8) -> tuple[list[float], list[str]]:
    """Send every body once, from ``threads`` connections; latencies in ms and errors."""
    latencies: list[float] = []
    errors: list[str] = []
    chunks = [bodies[i::threads] for i in range(threads)]
    lock = threading.Lock()

    def run(mine: list[bytes]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Content-Type": "application/json"}
        for body in mine:
            began = time.perf_counter()
            conn.request("POST", PATH, body, headers)
            answer = conn.getresponse()
            text = answer.read()
            took = 1000 * (time.perf_counter() - began)
            with lock:
                latencies.append(took)
                if answer.status != 200:
                    errors.append(f"{answer.status}: {text[:200]!r}")
        conn.close()

    workers = [threading.Thread(target=run, args=(c,)) for c in chunks]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return latencies, errors


def serve_and_measure(
    reviews: pd.DataFrame, items: pd.DataFrame | None, *, requests: int = 2000, seed: int = 7
) -> dict[str, Any]:
    """Train through the pipeline, materialise, serve, and measure (see the module doc)."""
    from heliograph.apps.recsys import MODEL_NAME, train_recommender
    from heliograph.registry import Registry

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        project = _project(root / "project", reviews, items)
        began = time.perf_counter()
        outcome = train_recommender(project, models=["als"], test_days=7)
        out["pipeline.train_s"] = round(time.perf_counter() - began, 3)
        out["pipeline.window"] = outcome.window
        out["pipeline.als.ndcg@10"] = round(outcome.metrics["als"]["ndcg_at_10"], 4)
        Registry(project).promote(MODEL_NAME, policy=POLICY)
        began = time.perf_counter()
        materialize(project)
        out["materialize_s"] = round(time.perf_counter() - began, 3)
        rng = np.random.default_rng(seed)
        known = reviews["user"].astype(str).unique()
        chosen = rng.permutation(known)[: int(requests * 0.9)].tolist()
        strangers = [f"new-user-{n}" for n in range(requests - len(chosen))]
        users = rng.permutation(chosen + strangers).tolist()
        bodies = [json.dumps({"user": u, "k": 10}).encode() for u in users]
        env = helio_env(project)
        env.pop("HELIO_GATEWAY__INVOCATIONS_MODEL", None)
        env.pop("HELIO_CLOCK__MODE", None)
        with serving("recsys", helio_command(project), env, root, "/readyz") as server:
            began = time.perf_counter()
            _, errors = _load(server.port, [b'{"user": "warm-up", "k": 10}'], threads=1)
            out["service.first_request_s"] = round(time.perf_counter() - began, 3)
            cpu_before = server.cpu_seconds()
            latencies, errors = _load(server.port, bodies)
            cpu = server.cpu_seconds() - cpu_before
        if errors:
            print(f"{len(errors)} errors, first: {errors[0]}", file=sys.stderr)
        out["service.requests"] = len(latencies)
        out["service.errors"] = len(errors)
        out["service.distinct_users"] = len(set(users))
        out["service.p50_ms"] = round(float(np.percentile(latencies, 50)), 2)
        out["service.p99_ms"] = round(float(np.percentile(latencies, 99)), 2)
        # The server's CPU (every process of its group) per request: what the machine's load
        # does not inflate as it does the latencies.
        out["service.cpu_us"] = round(1e6 * cpu / max(len(latencies), 1))
        out["service.goal_p99_10ms"] = bool(out["service.p99_ms"] <= 10.0)
        out["service.cpus"] = os.cpu_count()
    return out
