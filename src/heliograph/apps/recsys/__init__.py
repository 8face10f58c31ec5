"""Review-based recommendations: the second reference system, built on heliograph's public API.

Data: a seeded review simulator (``recsys-simulator`` source) and loaders for public formats
(``movielens``, ``amazon-json``, ``amazon-csv``), into two datasets: ``recsys_reviews`` (user,
item, rating, timestamp) and ``recsys_items`` (item, category, availability). Models: a
popularity baseline, EASE and implicit ALS, judged by a time-based split; an HNSW index over
the ALS item vectors; business rules declared in configuration.

Example::

    data = simulate("2024-01-01", "2024-06-30", seed=7)
    split = split_by_time(data["recsys_reviews"], "2024-06-01")
    evaluate(EASE().fit(split.train.matrix), split)["hr@10"]
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from heliograph.core import App, ConfigError
from heliograph.lake import ReplaySource

from ._ann import ItemIndex, exact_top_k, recall_at_k
from ._catalogue import Catalogue, UserHistory
from ._cli import train_recsys
from ._evaluate import category_vectors, evaluate, recommend_lists
from ._features import (
    ONLINE_ITEM_FEATURES,
    ONLINE_USER_FEATURES,
    POPULARITY_DAYS,
    RecsysItemFeatures,
    RecsysUserFeatures,
    ReviewHistory,
)
from ._formats import REVIEWS, read_amazon_csv, read_amazon_json, read_movielens
from ._interactions import Interactions, TimeSplit, split_by_time, user_key
from ._live import live_hit_rate, served_recommendations
from ._recommenders import ALS, EASE, Popularity, Recommender, top_k
from ._retrieval import Retriever, cold_start
from ._rules import MMR, ColdStart, MaxPerCategory, NewItems, Recommendation, Rules, apply_rules
from ._simulator import SimulatorSpec, simulate
from ._train import (
    MODEL_NAME,
    RECOMMENDERS,
    ReviewSplit,
    SplitData,
    recommender_pipeline,
    train_recommender,
)

__all__ = [
    "ALS",
    "EASE",
    "MMR",
    "MODEL_NAME",
    "ONLINE_ITEM_FEATURES",
    "ONLINE_USER_FEATURES",
    "POPULARITY_DAYS",
    "RECOMMENDERS",
    "REVIEWS",
    "Catalogue",
    "ColdStart",
    "Interactions",
    "ItemIndex",
    "MaxPerCategory",
    "NewItems",
    "Popularity",
    "Recommendation",
    "Recommender",
    "RecsysItemFeatures",
    "RecsysUserFeatures",
    "Retriever",
    "ReviewHistory",
    "ReviewSplit",
    "Rules",
    "SimulatorSpec",
    "SplitData",
    "TimeSplit",
    "UserHistory",
    "app",
    "apply_rules",
    "category_vectors",
    "cold_start",
    "evaluate",
    "exact_top_k",
    "live_hit_rate",
    "make_simulator_source",
    "read_amazon_csv",
    "read_amazon_json",
    "read_movielens",
    "recall_at_k",
    "recommend_lists",
    "recommender_pipeline",
    "served_recommendations",
    "simulate",
    "split_by_time",
    "top_k",
    "train_recommender",
    "train_recsys",
    "user_key",
]

# Imported only when needed: they pull in MLflow (_pyfunc) or the gateway's FastAPI (_service).
LAZY = ("_pyfunc", "_service")

_OPTIONS = frozenset({"start", "end", "seed"} | set(SimulatorSpec.__dataclass_fields__))


def make_simulator_source(name: str, options: Mapping[str, Any], state_path: Path) -> ReplaySource:
    """The ``recsys-simulator`` source: simulated reviews, released as the clock passes them."""
    unknown = sorted(set(options) - _OPTIONS)
    if unknown:
        raise ConfigError(
            f"source {name}: unknown option {unknown[0]!r}",
            field=f"sources.{name}.options.{unknown[0]}",
            rule="one of " + ", ".join(sorted(_OPTIONS)),
        )
    knobs = dict(options)
    start = str(knobs.pop("start", "2024-01-01"))
    end = str(knobs.pop("end", "2024-12-31"))
    seed = knobs.pop("seed", 7)
    try:
        SimulatorSpec(start=start, end=end, seed=int(seed), **knobs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"source {name}: {exc}", field=f"sources.{name}.options") from None

    def load() -> Mapping[str, Any]:
        return simulate(start, end, seed=int(seed), **knobs)

    return ReplaySource(name, load, available_column="available_at", state_path=state_path)


_CONFIG = """
# --- recsys reference system: review-based recommendations -------------------------------
[datasets.recsys_reviews]
key = ["user", "item", "timestamp"]
time_column = "timestamp"

[datasets.recsys_reviews.columns]
user = "string"
item = "string"
rating = "double"
timestamp = "timestamp"
available_at = "timestamp"

[[datasets.recsys_reviews.checks]]
type = "not_null"
column = "user"

[[datasets.recsys_reviews.checks]]
type = "not_null"
column = "item"

[[datasets.recsys_reviews.checks]]
type = "between"
column = "rating"
min = 0.5
max = 5

[[datasets.recsys_reviews.checks]]
type = "row_count"
min = 1

[[datasets.recsys_reviews.checks]]
type = "distribution"
column = "rating"
reference = "latest"
max_ks = 0.3
severity = "warn"  # tastes drift: record it, keep the reviews

[[datasets.recsys_reviews.checks]]
type = "freshness"
column = "available_at"
max_age = "2d"

[datasets.recsys_items]
key = ["item", "timestamp"]
time_column = "timestamp"

[datasets.recsys_items.columns]
item = "string"
category = "string"
available = "boolean"
timestamp = "timestamp"
available_at = "timestamp"

[[datasets.recsys_items.checks]]
type = "not_null"
column = "category"

[[datasets.recsys_items.checks]]
type = "not_null"
column = "available"

[[sources]]
name = "reviews"
type = "recsys-simulator"
[sources.options]
start = "2024-01-01"
end = "2024-12-31"
seed = 7

# Real reviews in a public format (movielens, amazon-json or amazon-csv):
# [[sources]]
# name = "movielens"
# type = "files"
# [sources.options]
# paths = ["data/u.data"]
# format = "movielens"
"""


def _services() -> list[Any]:
    from ._service import Recommendations  # imports the gateway (FastAPI): only when serving

    return [Recommendations()]


def _online_views() -> list[Any]:
    return [ONLINE_USER_FEATURES, ONLINE_ITEM_FEATURES]


# The simulated year is replayed from 2024-10-01, a day of reviews per real minute.
app = App(
    name="recsys",
    description="review-based recommendations",
    config=_CONFIG,
    clock={"mode": "replay", "start": "2024-10-01T00:00:00Z", "speed": 1440.0},
    commands={"train": train_recsys},
    services=_services,
    online_views=_online_views,
    datasets=("recsys_reviews", "recsys_items"),
)
