"""The online store against the lake: one read of "features as of now" for one market.

Builds a small energy project (simulated markets, ingested up to a fixed now), materialises
the price features, then reads the 24 h ahead of GB as of now, in the same run:

- ``store_now_<backend>``: from the store, the same question again and again (the decoded
  block stays in the reader's memory; each read still looks at the store's head);
- ``store_distinct_<backend>``: from the store, a different ``as_of`` within the retention
  every read (a new state's block is fetched and decoded the first time it is touched);
- ``store_cold_<backend>``: from the store, with the reader's block memory emptied before
  each read (fetch + decode every time);
- ``lake``: ``compute_offline`` from the lake (what serving does without the store).

    python benchmarks/online_store.py --markets GB DE FR --days 21 --retention 7 --reads 300

One JSON line goes to standard output (``rps``, ``p50_ms``, ``p99_ms`` per case, and how
long materialising took); Redis at 127.0.0.1:6379 is measured when it answers.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from heliograph.apps.energy import ONLINE_PRICE_FEATURES, PriceFeatures
from heliograph.core import FixedClock, init_project, load_app
from heliograph.features import (
    OnlineStore,
    RedisBackend,
    SQLiteBackend,
    compute_offline,
    materialize_view,
    online_requests,
)
from heliograph.jobs import ingest
from heliograph.lake import open_lake

NOW = datetime(2025, 3, 1, 12, 17, tzinfo=UTC)
HORIZON = timedelta(hours=24)


def measure(read: Callable[[int], Any], count: int) -> dict[str, float]:
    read(0)  # warm
    times = []
    started = time.perf_counter()
    for i in range(count):
        t = time.perf_counter()
        read(i)
        times.append(time.perf_counter() - t)
    total = time.perf_counter() - started
    ms = np.array(times) * 1000
    return {
        "reads": count,
        "rps": round(count / total, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markets", nargs="+", default=["GB", "DE", "FR"])
    parser.add_argument("--days", type=int, default=21, help="days of simulated history")
    parser.add_argument("--retention", type=float, default=7.0, help="days kept online")
    parser.add_argument("--reads", type=int, default=300)
    parser.add_argument("--lake-reads", type=int, default=20)
    args = parser.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="helio-online-bench-"))
    start = (NOW - timedelta(days=args.days)).date().isoformat()
    config = load_app("energy").config.replace('start = "2024-01-01"', f'start = "{start}"')
    markets = ", ".join(f'"{m}"' for m in args.markets)
    config = config.replace('markets = ["GB", "DE", "FR"]', f"markets = [{markets}]")
    project = init_project(root, extra=config).with_clock(FixedClock(NOW))
    ingest(project)
    lake = open_lake(project)
    view, market = ONLINE_PRICE_FEATURES, args.markets[0]
    rng = random.Random(7)
    retention = timedelta(days=args.retention)
    moments = [NOW - retention * rng.random() for _ in range(args.reads + 1)]

    out: dict[str, Any] = {
        "benchmark": "online_store",
        "question": f"features as of now, {market}, 24 h ahead",
        "markets": len(args.markets),
        "history_days": args.days,
        "retention_days": args.retention,
    }
    backends: dict[str, Any] = {"sqlite": SQLiteBackend(root / "online.db")}
    try:
        import redis

        redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_timeout=1).ping()
        backends["redis"] = RedisBackend("redis://127.0.0.1:6379/0")
    except Exception as exc:
        out["redis"] = f"not measured: {exc}"
    for name, backend in backends.items():
        store = OnlineStore(backend, lake, prefix=f"bench:{time.time_ns()}:", retention=retention)
        t = time.perf_counter()
        built = materialize_view(store, view, now=NOW)
        out[f"materialize_{name}"] = {
            "seconds": round(time.perf_counter() - t, 2),
            "states": built.computed,
        }

        def now_read(_i: int, store: OnlineStore = store) -> Any:
            got = store.features(view, market, NOW, horizon=HORIZON)
            assert got.source == "online", got.reason
            return got

        def distinct(i: int, store: OnlineStore = store) -> Any:
            return store.features(view, market, moments[i], horizon=HORIZON)

        def cold(_i: int, store: OnlineStore = store) -> Any:
            store._blocks.clear()
            return store.features(view, market, NOW, horizon=HORIZON)

        out[f"store_now_{name}"] = measure(now_read, args.reads)
        out[f"store_distinct_{name}"] = measure(distinct, args.reads)
        out[f"store_cold_{name}"] = measure(cold, args.reads)
        store.clear(view)
        store.close()

    step = pd.Timedelta(minutes=30)  # the simulator's period
    targets = view.targets(step, pd.Timestamp(NOW), pd.Timestamp(NOW + HORIZON))
    requests = online_requests(view, market, targets, NOW)
    out["lake"] = measure(
        lambda _i: compute_offline(lake, PriceFeatures(), requests), args.lake_reads
    )
    out["speedup_now"] = round(out["store_now_sqlite"]["rps"] / out["lake"]["rps"], 1)
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
