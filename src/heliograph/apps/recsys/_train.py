"""Training the recommender through the platform's pipeline: the recsys app's declaration.

The platform (``heliograph.training.train``) does snapshots → checks → MLflow runs with
lineage → registration → the champion re-scored; this module says what is the recommender's:
the evaluation (a time-based split of the snapshot's reviews: train up to the cutoff, test on
the last ``test_days``, whole catalogue ranked, seen items left out), the candidates
(popularity, EASE, ALS), and the model each registers: fit again on every review, with, for
ALS, its HNSW index built from the final item vectors, stored as the version's ``index``
artefact, and its recall@10 against exact search logged (``ann_recall_at_10``). The best by
NDCG@10 is registered as ``recsys-recommender``.

Example::

    outcome = train_recommender(project, test_days=14)
    outcome.best, outcome.metrics["als"]["ndcg_at_10"], outcome.version
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from heliograph.core import DataError, Project
from heliograph.lake import Lake
from heliograph.training import (
    Candidate,
    Judged,
    TrainingPipeline,
    TrainingProgress,
    TrainOutcome,
    train,
)

from ._ann import ItemIndex, recall_at_k
from ._evaluate import category_vectors, evaluate
from ._interactions import Interactions, TimeSplit, split_by_time, user_key
from ._recommenders import ALS, EASE, Popularity, Recommender

__all__ = [
    "MODEL_NAME",
    "RECOMMENDERS",
    "ReviewSplit",
    "SplitData",
    "recommender_pipeline",
    "train_recommender",
]

MODEL_NAME = "recsys-recommender"
RECOMMENDERS: dict[str, Callable[[], Recommender]] = {
    "popularity": Popularity,
    "ease": EASE,
    "als": ALS,
}
METRICS_SHOWN: dict[str, dict[str, Any]] = {
    "hr_at_10": {"unit": "share", "better": "higher"},
    "ndcg_at_10": {"unit": "score", "better": "higher"},
    "coverage": {"unit": "share", "better": "higher"},
    "diversity": {"unit": "share", "better": "higher"},
}
_RECALL_QUERIES = 1_000


def metric_names(metrics: Mapping[str, float]) -> dict[str, float]:
    """``hr@10`` → ``hr_at_10``: MLflow metric names have no ``@``."""
    return {k.replace("@", "_at_"): float(v) for k, v in metrics.items()}


@dataclass(frozen=True)
class SplitData:
    """What every candidate is judged on: the split, the item categories, all reviews."""

    split: TimeSplit
    vectors: np.ndarray  # one-hot categories of the split's catalogue (diversity)
    reviews: pd.DataFrame
    last: pd.Timestamp

    @property
    def window(self) -> str:
        return f"{self.split.cutoff:%Y-%m-%d}..{self.last:%Y-%m-%d}"


def _categories(items: pd.DataFrame) -> dict[str, str]:
    if items.empty:
        return {}
    latest = items.sort_values("timestamp", kind="stable").groupby("item").tail(1)
    return dict(zip(latest["item"].astype(str), latest["category"].astype(str), strict=True))


@dataclass(frozen=True)
class ReviewSplit:
    """The recommender's :class:`~heliograph.training.Evaluation`: a time-based split."""

    test_days: int = 14
    k: int = 10
    datasets: tuple[str, ...] = ("recsys_reviews", "recsys_items")
    ref: str = "recsys_time_split@1"

    def prepare(self, lake: Lake, snapshots: Mapping[str, str], subject: str | None) -> SplitData:
        reviews = lake.read("recsys_reviews", snapshot=snapshots["recsys_reviews"])
        items = lake.read("recsys_items", snapshot=snapshots["recsys_items"])
        if reviews.empty:
            raise DataError(
                "no reviews in the snapshot", field="recsys_reviews", rule="reviews to train on"
            )
        stamps = pd.to_datetime(reviews["timestamp"], utc=True)
        last = stamps.max()
        cutoff = last.normalize() - pd.Timedelta(days=self.test_days - 1)
        try:
            split = split_by_time(reviews, cutoff)
        except ValueError:
            raise DataError(
                f"the reviews from {stamps.min():%Y-%m-%d} to {last:%Y-%m-%d} leave nothing "
                f"to train on before a {self.test_days}-day test",
                field="--test-days",
                rule="reviews before and after the cutoff",
            ) from None
        if not split.test:
            raise DataError(
                f"no known user reviewed a known item in the last {self.test_days} days",
                field="--test-days",
                rule="a test period with returning users",
            )
        vectors = category_vectors(split.train.items, _categories(items))
        return SplitData(split, vectors, reviews, last)

    def window(self, data: SplitData) -> str:
        return data.window

    def judge(self, candidate: Candidate, data: SplitData, workdir: Path) -> Judged:
        from ._pyfunc import RecommenderModel

        began = time.perf_counter()
        model: Recommender = candidate.make().fit(data.split.train.matrix)
        fit_s = time.perf_counter() - began
        metrics = metric_names(evaluate(model, data.split, data.vectors, k=self.k))
        everyone = Interactions.from_reviews(data.reviews)
        final: Recommender = candidate.make().fit(everyone.matrix)
        artifacts: dict[str, str] = {}
        extra = {"train_s": fit_s}
        index = None
        if isinstance(final, ALS):
            assert final.item_factors is not None and final.user_factors is not None
            index = ItemIndex.build(final.item_factors, items=everyone.items)
            rng = np.random.default_rng(7)
            rows = rng.choice(len(everyone.users), min(_RECALL_QUERIES, len(everyone.users)))
            queries = final.user_factors[np.sort(rows)]
            extra["ann_recall_at_10"] = recall_at_k(index, queries, final.item_factors, 10)
            artifacts["index"] = str(index.save(workdir / "index"))
        wrapped = RecommenderModel(final, everyone, index)
        first = [user_key(u) for u in everyone.users[:3]]
        example = pd.DataFrame({"user_key": first, "n": [60.0] * len(first)})
        params = {
            k: v
            for k, v in vars(final).items()
            if isinstance(v, int | float | str) and not k.startswith("_")
        }
        return Judged(metrics, wrapped, example, artifacts, params, extra)

    def rescore(self, champion: Any, data: SplitData) -> Mapping[str, float]:
        """The registered version's own candidates for the split's test users, judged alike."""
        split = data.split
        users = sorted(split.test)
        seen = [split.train.seen(u) for u in users]
        frame = pd.DataFrame(
            {
                "user_key": [user_key(split.train.users[u]) for u in users],
                "n": [float(self.k + len(s)) for s in seen],
            }
        )
        answer = pd.DataFrame(champion.predict(frame))
        lists: dict[int, np.ndarray] = {}
        for user, mine, items in zip(users, seen, answer["items"], strict=True):
            ranked = [split.train.item_index.get(i) for i in json.loads(items)]
            kept = [r for r in ranked if r is not None and r not in set(mine.tolist())]
            lists[user] = np.asarray(kept[: self.k], dtype=int)
        return metric_names(evaluate(None, split, data.vectors, k=self.k, lists=lists))


def recommender_pipeline(
    test_days: int = 14, recommenders: Mapping[str, Callable[[], Recommender]] | None = None
) -> TrainingPipeline:
    """The recommender's training pipeline (``recommenders``: name → factory)."""
    made = recommenders or RECOMMENDERS
    return TrainingPipeline(
        name=MODEL_NAME,
        candidates=[Candidate(name, make) for name, make in made.items()],
        evaluation=ReviewSplit(test_days=test_days),
        description="review-based recommendations: candidates for the business rules",
        metric_descriptions=METRICS_SHOWN,
        policy=("ndcg_at_10", "maximize"),
    )


def train_recommender(
    project: Project,
    *,
    snapshots: Sequence[str] = (),
    models: Sequence[str] | None = None,
    test_days: int = 14,
    register: bool = True,
    allow_failed_checks: bool = False,
    reason: str = "",
    recommenders: Mapping[str, Callable[[], Recommender]] | None = None,
    progress: Callable[[TrainingProgress], None] | None = None,
) -> TrainOutcome:
    """Judge, log and register the recommenders (see the module doc)."""
    return train(
        project,
        recommender_pipeline(test_days, recommenders),
        candidates=models,
        snapshots=snapshots,
        register=register,
        allow_failed_checks=allow_failed_checks,
        reason=reason,
        progress=progress,
    )
