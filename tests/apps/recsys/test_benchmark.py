"""benchmarks/recsys.py, run as a user runs it: one JSON line, on files in the public formats."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "recsys.py"
KEYS = ("hr@10", "ndcg@10", "coverage", "diversity", "train_s")


def _run(*args: str) -> dict:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=600
    )
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.strip().splitlines()
    return json.loads(line)


def test_on_a_movielens_file_with_a_bad_line(small_year: dict[str, pd.DataFrame], tmp_path: Path):
    reviews = small_year["recsys_reviews"]
    path = tmp_path / "u.data"
    lines = [
        f"{u[1:]}\t{i[1:]}\t{int(r)}\t{int(t.timestamp())}"
        for u, i, r, t in zip(
            reviews["user"], reviews["item"], reviews["rating"], reviews["timestamp"], strict=True
        )
    ]
    path.write_text("\n".join([*lines[:10], "not a review", *lines[10:]]) + "\n")
    out = _run("--data", str(path), "--format", "movielens", "--queries", "100", "--no-service")
    assert out["rejected_lines"] == 1 and out["reviews"] == len(reviews)
    for model in ("popularity", "ease", "als"):
        assert all(f"{model}.{key}" in out for key in KEYS)
    assert out["diversity_basis"] == "als-embedding"  # u.data has no categories
    assert out["ann.recall@10"] >= 0.95 and out["ann.query_us"] > 0
    assert out["ease.hr@10"] > out["popularity.hr@10"]


def test_on_simulated_reviews_served() -> None:
    out = _run(
        "--format", "simulated", "--end", "2024-01-31", "--users", "80", "--items", "100",
        "--queries", "100", "--requests", "40",
    )  # fmt: skip
    assert out["format"] == "simulated" and out["diversity_basis"] == "category"
    assert 0 <= out["rules.diversity"] <= 1 and out["rules.diversity"] > out["als.diversity"]
    assert isinstance(out["ease.goal_2x_popularity"], bool)
    # the served system: trained through the pipeline, every request a different user
    assert out["service.requests"] == out["service.distinct_users"] == 40
    assert out["service.errors"] == 0
    assert 0 < out["service.p50_ms"] <= out["service.p99_ms"]
    assert out["service.cpu_us"] > 0  # the server did the work, measured as its CPU
    assert out["pipeline.train_s"] > 0 and out["materialize_s"] > 0
    assert isinstance(out["service.goal_p99_10ms"], bool)
