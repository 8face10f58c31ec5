"""Shared fixtures: temporary projects, a fixed clock, the real PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from heliograph.checks import between, not_null
from heliograph.core import FixedClock, Project
from heliograph.lake import Dataset, Lake

# The production topology's servers (S3, MLflow server, databases), for any test that asks.
pytest_plugins = ("tests.production.servers",)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
# The CLI's tables are 160 columns wide when not on a terminal (a log's width) unless COLUMNS
# says otherwise; pytest-xdist's workers set COLUMNS=80, so say it here, before the CLI loads.
os.environ["COLUMNS"] = "160"
POSTGRES_URL = os.environ.get(
    "HELIO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(autouse=True)
def _quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELIO_PROGRESS", "0")
    for name in list(os.environ):
        if name.startswith("HELIO_") and "__" in name:
            monkeypatch.delenv(name)
    monkeypatch.delenv("HELIO_PROJECT", raising=False)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2025, 6, 1, 12, tzinfo=UTC))


PRICES = Dataset(
    "prices",
    columns={"market": "string", "timestamp": "timestamp", "price": "double"},
    key=("market", "timestamp"),
    time_column="timestamp",
    checks=(not_null("price"), between("price", -500, 4000, mostly=0.99)),
)


@pytest.fixture
def lake(tmp_path: Path, clock: FixedClock) -> Lake:
    return Lake(tmp_path / "lake", [PRICES], clock=clock)


def price_frame(
    days: int = 3, start: str = "2025-01-01", markets: tuple[str, ...] = ("GB",), seed: int = 0
) -> pd.DataFrame:
    """Half-hourly prices, plausible values, deterministic."""
    stamps = pd.date_range(start, periods=48 * days, freq="30min", tz="UTC")
    rng = np.random.default_rng(seed)
    frames = [
        pd.DataFrame(
            {"market": m, "timestamp": stamps, "price": rng.normal(60, 15, len(stamps)).round(2)}
        )
        for m in markets
    ]
    return pd.concat(frames, ignore_index=True)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh database on the PostgreSQL server, dropped afterwards.

    Skips when the server is absent, except under CI, where the production backend must be
    tested for real.
    """
    sqlalchemy = pytest.importorskip("sqlalchemy")
    try:
        admin = sqlalchemy.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as con:
            name = f"helio_test_{uuid.uuid4().hex[:10]}"
            con.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} is required in CI: {exc}")
        pytest.skip(
            f"PostgreSQL not reachable at {POSTGRES_URL} (set HELIO_TEST_POSTGRES_URL): {exc}"
        )
    url = sqlalchemy.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as con:
        con.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def energy_project(
    root: Path,
    markets: tuple[str, ...] = ("GB",),
    *,
    start: str = "2025-01-01",
    now: datetime = datetime(2025, 3, 31, 12, tzinfo=UTC),
) -> Project:
    """A small energy project (simulated from ``start``), ingested and snapshotted at ``now``."""
    from heliograph.core import init_project, load_app
    from heliograph.jobs import ingest, snapshot

    config = load_app("energy").config.replace('start = "2024-01-01"', f'start = "{start}"')
    config = config.replace(
        'markets = ["GB", "DE", "FR"]', "markets = [" + ", ".join(f'"{m}"' for m in markets) + "]"
    )
    project = init_project(root, extra=config).with_clock(FixedClock(now))
    ingest(project)
    snapshot(project)
    return project
