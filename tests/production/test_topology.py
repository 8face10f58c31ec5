"""The production topology, end to end, on this machine's real servers.

The MLflow tracking server on PostgreSQL with its artefacts on S3, the lake on S3, two
gateway replicas (``helio serve`` processes) writing one PostgreSQL ledger and sharing the
Redis online store, and the operating loop for two simulated days: each day new data, a
retrain, a promotion, and both replicas swap to the new champion on their own while they
answer (twice: a swap after a swap). Nothing answered is lost or counted twice; lineage
leads from a prediction to the snapshot on S3; no secret shows in a log, an event or
``helio config show``.
"""

from __future__ import annotations

import base64
import copy
import gc
import hashlib
import hmac
import json
import signal
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from heliograph.cli import main
from heliograph.compute import RayEngine
from heliograph.core import FixedClock, Project, init_project
from heliograph.jobs import promote_on_evidence
from heliograph.lake import is_remote, open_lake, take_snapshot
from heliograph.ledger import Ledger, count_predictions, read_predictions
from heliograph.registry import Registry, lineage
from heliograph.training import TrainOutcome, train
from tests.apps.tiny.app import CONFIG, PIPELINE, readings
from tests.loop.test_loop_jobs import TINY

from .servers import S3, TrackingServer
from .topology import Replica, Traffic, start_replicas, wait_until

pytestmark = pytest.mark.filterwarnings(
    "ignore::UserWarning",
    "ignore::FutureWarning",
    "ignore::DeprecationWarning",
    # psycopg's "connection deleted while still open", from the engines heliograph makes per
    # call (NOTES: per-call engines), collected below at the end of this test
    "ignore::pytest.PytestUnraisableExceptionWarning",
)
MODEL = "meter-load"
START = datetime(2025, 1, 1, tzinfo=UTC)
WEBHOOK_SECRET = "whsec-" + uuid.uuid4().hex
SLACK = "https://hooks.example.invalid/services/T0/B0/" + uuid.uuid4().hex


class CountedRay:
    """The Ray engine (a local cluster of 2 CPUs), counting the tasks sent to it: the
    topology's backtests must run there, not quietly in this process."""

    name = "ray"

    def __init__(self) -> None:
        self.inner, self.tasks = RayEngine(workers=2), 0

    @property
    def workers(self) -> int:
        return self.inner.workers

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        todo = list(items)
        self.tasks += len(todo)
        return self.inner.map(fn, todo)


def backtest_and_register(project: Project, reason: str, engine: CountedRay) -> TrainOutcome:
    """Train the tiny app's candidates, backtest them on Ray, register the best."""
    return train(project, PIPELINE, backtest_days=7, train_days=21, reason=reason, engine=engine)


def production_env(
    tracking: TrackingServer, s3: S3, bucket: str, ledger: str, redis: str
) -> dict[str, str]:
    """Everything a replica or a job of this topology needs, as HELIO_ variables (no file)."""
    return {
        **s3.env(),
        "HELIO_TRACKING__URI": tracking.uri,
        "HELIO_LAKE__URI": f"s3://{bucket}/lake",
        "HELIO_LEDGER__URL": ledger,
        "HELIO_ONLINE_STORE__BACKEND": "redis",
        "HELIO_ONLINE_STORE__URL": redis,
        "HELIO_ONLINE_STORE__PREFIX": f"helio:e2e-{uuid.uuid4().hex[:8]}:",
        "HELIO_GATEWAY__INVOCATIONS_MODEL": MODEL,
        "HELIO_GATEWAY__POLL_INTERVAL": "0.5",
        "HELIO_GATEWAY__WEBHOOK_SECRET": WEBHOOK_SECRET,
        "HELIO_MONITORING__WEBHOOK_URL": SLACK,
        "HELIO_SECURITY__SECRETS_FROM_ENV": "true",
        "HELIO_CLOCK__MODE": "real",
    }


def at(project: Project, now: datetime) -> Project:
    return copy.copy(project).with_clock(FixedClock(now))


def until_all_serve(replicas: list[Replica], version: str, timeout: float = 60) -> float:
    """Seconds until every replica serves ``version`` as champion (each follows alone)."""
    began = time.monotonic()
    while not all(r.served(MODEL) == version for r in replicas):
        assert time.monotonic() - began < timeout, [r.served(MODEL) for r in replicas]
        time.sleep(0.1)
    return time.monotonic() - began


def signed(body: str, secret: str) -> dict[str, str]:
    stamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), f"d1.{stamp}.{body}".encode(), hashlib.sha256).digest()
    return {
        "X-MLflow-Delivery-Id": "d1",
        "X-MLflow-Timestamp": stamp,
        "X-MLflow-Signature": "v1," + base64.b64encode(digest).decode(),
        "Content-Type": "application/json",
    }


def post(url: str, body: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_the_production_topology_for_a_few_simulated_days(
    tracking_server: TrackingServer,
    s3: S3,
    pg_database: str,
    redis_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bucket = s3.bucket()
    env = production_env(tracking_server, s3, bucket, pg_database, redis_url)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # Three weeks of history, the least a 7-day backtest with its lags needs (the lake on S3
    # costs a few requests per daily partition on every read, so history is time here).
    now = START + timedelta(days=22)
    project = init_project(tmp_path / "tiny", name=f"e2e-{uuid.uuid4().hex[:6]}", extra=CONFIG)
    project = project.with_clock(FixedClock(now))
    data = readings(days=25)
    lake = open_lake(project)
    assert is_remote(lake.root)
    lake.ingest("meter_readings", data[data["timestamp"] < pd.Timestamp(now)], origin="day0")
    take_snapshot(lake, "meter_readings")

    import ray

    import tests.apps.tiny.app as tiny_app

    ray.cloudpickle.register_pickle_by_value(tiny_app)  # Ray's workers need not import tests
    engine = CountedRay()
    try:
        first = backtest_and_register(project, "first model", engine)
    finally:
        ray.shutdown()
    assert first.version == "1" and engine.tasks > 0, engine.tasks
    registry = Registry(project)
    assert promote_on_evidence(project, [TINY]).promoted == [MODEL]  # the backtest alone
    assert registry.aliases(MODEL)["champion"] == "1"

    import mlflow

    mlflow.set_tracking_uri(tracking_server.uri)
    columns = mlflow.models.get_model_info(f"models:/{MODEL}/1").signature.inputs.input_names()
    body = json.dumps({"dataframe_split": {"columns": columns, "data": [[100.0] * len(columns)]}})

    replicas = start_replicas(project, env, 2)
    traffic = None
    try:
        wait_until(replicas, "/readyz")
        assert {r.served(MODEL) for r in replicas} == {"1"}
        traffic = Traffic(replicas, body.encode()).start()
        swaps = []
        for day in range(1, 3):  # the loop, a simulated day at a time
            today = at(project, now + timedelta(days=day))
            new = data[
                (data["timestamp"] >= pd.Timestamp(now + timedelta(days=day - 1)))
                & (data["timestamp"] < pd.Timestamp(now + timedelta(days=day)))
            ]
            assert open_lake(today).ingest("meter_readings", new, origin=f"day{day}").rows_written
            take_snapshot(open_lake(today), "meter_readings")
            outcome = train(today, PIPELINE, backtest_days=7, train_days=21, reason=f"day {day}")
            assert outcome.version == str(day + 1)
            Registry(today).promote(MODEL, reason=f"day {day}", force=True)
            swaps.append(until_all_serve(replicas, outcome.version))
        time.sleep(0.5)
        traffic.stop()
        # Webhooks need the signature; the secret came from the environment only.
        hook = json.dumps({"entity": "model_version_alias", "action": "created", "data": {}})
        unsigned = {"Content-Type": "application/json"}
        assert post(replicas[0].base + "/v1/registry/webhook", hook, unsigned) == 401
        assert post(replicas[1].base + "/v1/registry/webhook", hook, signed(hook, "nope")) == 401
        ok = signed(hook, WEBHOOK_SECRET)
        assert post(replicas[1].base + "/v1/registry/webhook", hook, ok) == 200
    finally:
        if traffic is not None:
            traffic.stop()
        codes = [r.stop() for r in replicas]
    logs = "\n".join(r.log.read_text() for r in replicas)
    stopped = (0, -signal.SIGTERM, 128 + signal.SIGTERM)  # a clean exit on SIGTERM
    assert all(code in stopped for code in codes), logs[-3000:]

    # Nothing answered is lost or doubled across the replicas.
    answered = traffic.statuses.get(200, 0)
    assert answered > 20 and set(traffic.statuses) == {200}, traffic.statuses
    assert len(set(traffic.request_ids)) == answered
    # (a challenger's shadow rows, if any, are extra records with role "challenger")
    served = {"service": "invocations", "role": "champion"}
    assert count_predictions(pg_database, **served) == answered
    rows = read_predictions(pg_database, **served, limit=answered + 10)
    assert len({r.record_id for r in rows}) == answered
    assert {r.model_version for r in rows} == {"1", "2", "3"}
    assert traffic.versions == {"1", "2", "3"}
    assert max(swaps) < 30

    # Lineage: a prediction → its version → its run (on the server) → the snapshot on S3.
    found = lineage(project, rows[0].record_id)
    assert found.version is not None and found.snapshots  # type: ignore[union-attr]
    snapshot_id = found.snapshots[0].id  # type: ignore[union-attr]
    assert snapshot_id.startswith("meter_readings@")
    assert s3.keys(bucket, "lake/_snapshots/meter_readings/")
    assert s3.keys(tracking_server.bucket, "mlartifacts/"), "artefacts are on S3"

    # The commands work against the tracking server as on the embedded store.
    capsys.readouterr()
    with pytest.raises(SystemExit) as done:
        main(["-p", str(project.root), "model", "list"])
    listed = capsys.readouterr().out
    line = next(row for row in listed.splitlines() if MODEL in row)
    cells = [c.strip() for c in line.replace("│", "|").split("|") if c.strip()]
    assert done.value.code in (0, None), listed
    assert cells[1] == "3" and cells[-1] == "3", listed  # champion 3, latest version 3
    with pytest.raises(SystemExit) as done:
        main(["-p", str(project.root), "lineage", rows[0].record_id, "--json"])
    walked = json.loads(capsys.readouterr().out)
    assert done.value.code in (0, None) and snapshot_id in json.dumps(walked)

    # No secret in the replicas' logs, the ledger's events or the effective configuration.
    recorded = Ledger(pg_database).events(limit=100_000)
    events = json.dumps([e.__dict__ for e in recorded], default=str)
    shown = json.dumps(Project.load(project.root).effective())
    for secret in (WEBHOOK_SECRET, SLACK):
        assert secret not in logs and secret not in events and secret not in shown
    gc.collect()  # the per-call engines' connections, under this test's warning filter
