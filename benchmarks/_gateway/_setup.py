"""The benchmark's throw-away project: energy data and price models, and two LightGBM versions."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ._common import ENERGY, FEATURES, LGBM, log


def setup_project(root: Path) -> dict[str, Any]:
    """The project: energy data and models (champion promoted), LightGBM v1 (champion), v2."""
    import lightgbm
    import mlflow.lightgbm
    import numpy as np
    import pandas as pd
    from lightgbm import LGBMRegressor
    from mlflow.models import infer_signature

    from heliograph.apps.energy import train_market
    from heliograph.core import FixedClock, init_project, load_app
    from heliograph.jobs import ingest, snapshot
    from heliograph.registry import Registry
    from heliograph.tracking import tracked_run

    config = load_app("energy").config
    config = config.replace('start = "2024-01-01"', 'start = "2025-01-01"')
    config = config.replace('end = "2025-12-31"', 'end = "2025-04-07"')
    config = config.replace('markets = ["GB", "DE", "FR"]', 'markets = ["GB"]')
    project = init_project(root, name="gateway-bench", extra=config)
    project.with_clock(FixedClock(datetime(2025, 3, 31, 12, tzinfo=UTC)))
    started = time.perf_counter()
    ingest(project)
    snapshot(project)
    log(f"energy data ingested ({time.perf_counter() - started:.1f} s); training GB")
    outcome = train_market(project, "GB", models=["seasonal_naive", "lear"], backtest_days=7)
    registry = Registry(project)
    decision = registry.promote(ENERGY, reason="benchmark")
    if not decision.accepted:
        raise SystemExit(f"cannot promote {ENERGY}: {decision.reasons}")
    log(f"{ENERGY} v{decision.candidate} ({outcome.best}) is champion")

    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(20_000, len(FEATURES))), columns=FEATURES)
    weights = rng.normal(size=len(FEATURES))
    y = x.to_numpy() @ weights + np.sin(3 * x["f00"]) * x["f01"] + rng.normal(0, 0.3, len(x))
    versions = []
    for seed in (1, 2):
        began = time.perf_counter()
        # one training thread: OpenMP over both cores is several times slower on a busy
        # machine; the logged model has the default n_jobs again, as a user's would
        model = LGBMRegressor(n_estimators=200, num_leaves=31, random_state=seed, verbose=-1)
        model.set_params(subsample=0.8, subsample_freq=1, colsample_bytree=0.8, n_jobs=1)
        model.fit(x, y)
        model.set_params(n_jobs=None)
        signature = infer_signature(x.head(100), model.predict(x.head(100)))
        with tracked_run(project, "bench-lgbm", f"lgbm-seed{seed}"):
            info = mlflow.lightgbm.log_model(
                model,
                name="model",
                signature=signature,
                input_example=x.head(5),
                pip_requirements=[f"lightgbm=={lightgbm.__version__}"],
            )
        versions.append(registry.register(LGBM, info.model_uri, reason=f"seed {seed}"))
        log(f"{LGBM} v{versions[-1]} trained and logged in {time.perf_counter() - began:.1f} s")
    if versions != ["1", "2"]:
        raise SystemExit(f"expected versions 1 and 2 of {LGBM}, got {versions}")
    # champion = 1; version 2 is not loaded anywhere until the first swap (no challenger)
    registry.client.set_registered_model_alias(LGBM, "champion", "1")
    registry.client.delete_registered_model_alias(LGBM, "challenger")
    row = x.iloc[[123]]
    return {
        "project": project,
        "registry": registry,
        "body": {"dataframe_split": {"columns": FEATURES, "data": row.to_numpy().tolist()}},
        "energy_version": decision.candidate,
        "energy_model": outcome.best,
    }
