"""The recommender, measured: time-based HR@10 / NDCG@10 against popularity, ANN recall.

    python benchmarks/recsys.py --format simulated
    python benchmarks/recsys.py --data u.data --format movielens
    python benchmarks/recsys.py --data reviews.json --format amazon-json

Trains on every review up to the cutoff (default: the 90th percentile of review times),
tests on each known user's reviews after it, ranking the whole catalogue without what the
user already reviewed. Prints one JSON line: per model (``popularity``, ``ease``, ``als``)
``hr@10``, ``ndcg@10``, ``coverage``, ``diversity``, ``train_s``; the served path (ALS →
HNSW → rules with at most 3 per category) as ``rules.*``; ``ann.recall@10`` and
``ann.query_us`` (one query, one thread) for the HNSW index over the ALS item vectors.
Malformed lines of a real file are counted in ``rejected_lines`` (they would be quarantined).

Then (unless ``--no-service``) the served system, in a project of its own: ALS trained through
the platform's pipeline (``pipeline.train_s``), the features materialised
(``materialize_s``), ``helio serve`` started and ``--requests`` recommendations asked at 8
connections, every request a different user (a tenth of them unknown: cold start), so none
is answered from memory: ``service.p50_ms``, ``service.p99_ms`` (goal: p99 ≤ 10 ms), and
``service.cpu_us``, the server's CPU per request (its process group's, during the load).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from heliograph.apps.recsys import (
    ALS,
    EASE,
    Catalogue,
    ItemIndex,
    Popularity,
    Retriever,
    Rules,
    UserHistory,
    category_vectors,
    evaluate,
    read_amazon_csv,
    read_amazon_json,
    read_movielens,
    recall_at_k,
    simulate,
    split_by_time,
)
from heliograph.core import HelioError
from heliograph.lake import rejected_key

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _recsys_service import serve_and_measure

READERS = {
    "movielens": read_movielens,
    "amazon-csv": read_amazon_csv,
    "amazon-json": read_amazon_json,
}
K = 10


def load(args: argparse.Namespace) -> tuple[pd.DataFrame, pd.DataFrame | None, int]:
    if args.format == "simulated":
        if args.data and Path(args.data).is_file():
            return pd.read_parquet(args.data), None, 0
        knobs = {k: v for k, v in (("users", args.users), ("items", args.items)) if v}
        data = simulate(args.start, args.end, seed=args.seed, **knobs)
        return data["recsys_reviews"], data["recsys_items"], 0
    if not args.data:
        sys.exit(f"--data PATH is needed for --format {args.format}")
    frames = READERS[args.format](args.data)
    return frames["recsys_reviews"], None, len(frames[rejected_key("recsys_reviews")])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="a review file (or a Parquet file of simulated reviews)")
    parser.add_argument("--format", required=True, choices=["simulated", *READERS])
    parser.add_argument("--cutoff", help="train up to this time (default: 90th percentile)")
    parser.add_argument("--start", default="2024-01-01", help="simulated: first day")
    parser.add_argument("--end", default="2024-12-31", help="simulated: last day")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--queries", type=int, default=1000, help="ANN queries to time")
    parser.add_argument("--users", type=int, help="simulated: users at the start")
    parser.add_argument("--items", type=int, help="simulated: items at the start")
    parser.add_argument("--requests", type=int, default=2000, help="service requests to time")
    parser.add_argument("--no-service", action="store_true", help="skip the served system")
    args = parser.parse_args()
    try:
        reviews, items, rejected = load(args)
    except HelioError as exc:
        sys.exit(exc.describe())
    stamps = pd.to_datetime(reviews["timestamp"], utc=True)
    cutoff = pd.Timestamp(args.cutoff, tz="UTC") if args.cutoff else stamps.quantile(0.9)
    split = split_by_time(reviews, cutoff)
    out: dict[str, object] = {
        "format": args.format,
        "reviews": len(reviews),
        "rejected_lines": rejected,
        "users": int(reviews["user"].nunique()),
        "items": int(reviews["item"].nunique()),
        "cutoff": cutoff.isoformat(),
        "judged_users": len(split.test),
        "new_users_after_cutoff": split.new_users,
    }
    catalogue = Catalogue.as_of(items, reviews, cutoff)
    models = {"popularity": Popularity(), "ease": EASE(), "als": ALS()}
    train_total = 0.0
    for name, model in models.items():
        began = time.perf_counter()
        model.fit(split.train.matrix)
        train_s = time.perf_counter() - began
        train_total += train_s
        out[f"{name}.train_s"] = round(train_s, 3)
    als = models["als"]
    assert isinstance(als, ALS) and als.item_factors is not None and als.user_factors is not None
    if catalogue.category:  # diversity over categories when known, else over ALS embeddings
        vectors, basis = category_vectors(split.train.items, catalogue.category), "category"
    else:
        vectors, basis = als.item_factors, "als-embedding"
    out["diversity_basis"] = basis
    for name, model in models.items():
        scores = evaluate(model, split, vectors, k=K)
        for metric in (f"hr@{K}", f"ndcg@{K}", "coverage", "diversity"):
            out[f"{name}.{metric}"] = round(scores[metric], 4)
    out["train_s"] = round(train_total, 3)

    began = time.perf_counter()
    index = ItemIndex.build(als.item_factors, items=split.train.items)
    out["ann.build_s"] = round(time.perf_counter() - began, 3)
    rng = np.random.default_rng(args.seed)
    queries = als.user_factors[rng.permutation(len(als.user_factors))[: args.queries]]
    out[f"ann.recall@{K}"] = round(recall_at_k(index, queries, als.item_factors, K), 4)
    times = []
    for vector in queries:
        began = time.perf_counter()
        index.query(vector, K)
        times.append(time.perf_counter() - began)
    out["ann.query_us"] = round(float(np.median(times)) * 1e6, 1)

    # The served path: ANN candidates, then the rules (here: at most 3 per category).
    rules = Rules.from_config({"diversity": {"kind": "max_per_category", "n": 3}})
    retriever = Retriever(als, index, split.train.users, catalogue, rules)
    before = reviews[stamps <= cutoff]
    seen_by_user = before.groupby("user")["item"].agg(frozenset)
    lists = {}
    for user in sorted(split.test):
        uid = str(split.train.users[user])
        history = UserHistory(uid, seen_by_user.get(uid, frozenset()), ())
        ranked = [split.train.item_index.get(r.item) for r in retriever.recommend(history, K)]
        lists[user] = np.array([i for i in ranked if i is not None], dtype=int)
    served = evaluate(als, split, vectors, k=K, lists=lists)
    for metric in (f"hr@{K}", f"ndcg@{K}", "coverage", "diversity"):
        out[f"rules.{metric}"] = round(served[metric], 4)
    pop_hr, pop_ndcg = out[f"popularity.hr@{K}"], out[f"popularity.ndcg@{K}"]
    for name in ("ease", "als"):
        out[f"{name}.goal_2x_popularity"] = bool(
            out[f"{name}.hr@{K}"] >= 2 * pop_hr and out[f"{name}.ndcg@{K}"] >= 2 * pop_ndcg  # type: ignore[operator]
        )
    out[f"ann.goal_recall@{K}"] = bool(out[f"ann.recall@{K}"] >= 0.95)  # type: ignore[operator]
    if not args.no_service:
        out.update(serve_and_measure(reviews, items, requests=args.requests, seed=args.seed))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
