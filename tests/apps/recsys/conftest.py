"""Shared pieces for the recommender's tests: its datasets, and one small simulated year."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from heliograph.apps.recsys import MODEL_NAME, app, simulate, train_recommender
from heliograph.core import DatasetSettings, FixedClock, PolicySettings, Project, init_project
from heliograph.jobs import ingest, materialize, snapshot
from heliograph.lake import Dataset
from heliograph.registry import Registry
from heliograph.training import TrainOutcome

SHOP_NOW = datetime(2024, 2, 1, 12, tzinfo=UTC)
POLICY = PolicySettings(metric="ndcg_at_10", direction="maximize")


def _datasets() -> dict[str, Dataset]:
    import tomllib

    raw = tomllib.loads(app.config)["datasets"]
    return {n: Dataset.from_settings(n, DatasetSettings.model_validate(s)) for n, s in raw.items()}


def reviews_dataset() -> Dataset:
    return _datasets()["recsys_reviews"]


def items_dataset() -> Dataset:
    return _datasets()["recsys_items"]


@pytest.fixture(scope="session")
def small_year() -> dict[str, pd.DataFrame]:
    """Four months of a small shop: enough for models to learn tastes, fast to fit."""
    return simulate("2024-01-01", "2024-04-30", seed=11, users=400, items=500, reviews_per_day=90.0)


def recsys_project(
    root: Path, now: datetime = SHOP_NOW, users: int = 100, items: int = 120, per_day: float = 60.0
) -> Project:
    """A small simulated shop, ingested and snapshotted at ``now``."""
    config = app.config.replace('end = "2024-12-31"', 'end = "2024-03-31"')
    config = config.replace(
        "seed = 7", f"seed = 11\nusers = {users}\nitems = {items}\nreviews_per_day = {per_day}"
    )
    project = init_project(root, extra=config).with_clock(FixedClock(now))
    ingest(project)
    snapshot(project)
    return project


@dataclass(frozen=True)
class Shop:
    project: Project
    outcome: TrainOutcome  # the first training: every recommender, 7 test days


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    """The small shop, trained (its best promoted to champion) and materialised: shared by the
    training, feature and service tests (each ingest, fit and materialisation costs seconds)."""
    project = recsys_project(tmp_path_factory.mktemp("recsys-shop"))
    with warnings.catch_warnings():  # MLflow's advice on type hints and pickling
        warnings.filterwarnings("ignore", category=UserWarning, module="mlflow.*")
        outcome = train_recommender(project, test_days=7)
    assert Registry(project).promote(MODEL_NAME, policy=POLICY).accepted
    materialize(project)
    return Shop(project, outcome)
