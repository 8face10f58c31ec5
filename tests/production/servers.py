"""The production topology's servers, started by the tests on 127.0.0.1 (fixtures).


- S3: moto's ``ThreadedMotoServer`` (``moto[server]``), a standalone S3-compatible HTTP
  server in a thread: there is no MinIO package here, no Docker daemon, and moto speaks the
  S3 wire protocol that s3fs, boto3 and MLflow use, so the code under test is the production
  code, only the endpoint differs (``AWS_ENDPOINT_URL``).
- The MLflow tracking server: ``mlflow server`` as a subprocess on a free port, its backend
  store a fresh PostgreSQL database, its artefacts proxied to the S3 bucket
  (``--artifacts-destination s3://…``). Started once per session (~15-30 s on this machine).
- PostgreSQL (ledger, tracking store) and Redis (online store) run here and in CI: without
  them these tests skip, except under CI, where they fail.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_URL
from tests.gateway.test_workers import free_port

REDIS_URL = os.environ.get("HELIO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
AWS = {
    "AWS_ACCESS_KEY_ID": "helio-test",
    "AWS_SECRET_ACCESS_KEY": "helio-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _absent(what: str, exc: BaseException) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI: {exc}")
    pytest.skip(f"{what} not available: {exc}")


@dataclass(frozen=True)
class S3:
    endpoint: str

    def env(self) -> dict[str, str]:
        return {**AWS, "AWS_ENDPOINT_URL": self.endpoint, "MLFLOW_S3_ENDPOINT_URL": self.endpoint}

    def client(self):  # type: ignore[no-untyped-def]
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, **_boto_keys())

    def bucket(self) -> str:
        name = f"helio-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        found = self.client().list_objects_v2(Bucket=bucket, Prefix=prefix)
        return sorted(o["Key"] for o in found.get("Contents", []))


def _boto_keys() -> dict[str, str]:
    return {
        "aws_access_key_id": AWS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": AWS["AWS_SECRET_ACCESS_KEY"],
        "region_name": AWS["AWS_DEFAULT_REGION"],
    }


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3]:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        _absent("moto[server]", exc)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield S3(f"http://{host}:{port}")
    server.stop()


@pytest.fixture
def s3(s3_server: S3, monkeypatch: pytest.MonkeyPatch) -> S3:
    """The S3 server, with this process's environment pointing at it (as production's would)."""
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    return s3_server


def _database() -> str:
    import sqlalchemy

    try:
        admin = sqlalchemy.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        name = f"helio_prod_{uuid.uuid4().hex[:10]}"
        with admin.connect() as con:
            con.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        _absent(f"PostgreSQL at {POSTGRES_URL}", exc)
    admin.dispose()
    return sqlalchemy.make_url(POSTGRES_URL).set(database=name).render_as_string(False)


def _drop(url: str) -> None:
    import sqlalchemy

    name = sqlalchemy.make_url(url).database
    admin = sqlalchemy.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as con:
        con.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database (a ledger's), dropped afterwards."""
    url = _database()
    yield url
    _drop(url)


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping()
    except (redis.RedisError, OSError) as exc:
        _absent(f"Redis at {REDIS_URL}", exc)
    return REDIS_URL


@dataclass(frozen=True)
class TrackingServer:
    uri: str
    bucket: str
    store: str
    log: Path


@pytest.fixture(scope="session")
def tracking_server(
    s3_server: S3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TrackingServer]:
    """``mlflow server`` on PostgreSQL with its artefacts on S3, for the whole session."""
    store = _database()
    bucket = s3_server.bucket()
    port = free_port()
    log = tmp_path_factory.mktemp("mlflow-server") / "server.log"
    env = {
        **os.environ,
        **s3_server.env(),
        "PYTHONWARNINGS": "ignore",
        # MLflow 3's job runner (a consumer and seven huey workers, for GenAI evaluation
        # jobs) is not used by heliograph: off, it starts in a fraction of the time.
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }
    command = [
        *(sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1"),
        *("--port", str(port), "--workers", "1"),
        *("--backend-store-uri", store),
        *("--artifacts-destination", f"s3://{bucket}/mlartifacts"),
    ]
    with open(log, "w") as out:
        server = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300  # minutes on a loaded machine
        while True:
            if server.poll() is not None:
                pytest.fail("mlflow server exited:\n" + log.read_text()[-3000:])
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("mlflow server not up in 300 s:\n" + log.read_text()[-3000:])
                time.sleep(0.3)
        yield TrackingServer(uri, bucket, store, log)
    finally:
        with contextlib.suppress(ProcessLookupError):  # the server and its uvicorn worker
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        _drop(store)
