"""Shared pieces for the recommender's tests: its datasets, and one small simulated year."""

from __future__ import annotations

import pandas as pd
import pytest

from heliograph.apps.recsys import app, simulate
from heliograph.core import DatasetSettings
from heliograph.lake import Dataset


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
