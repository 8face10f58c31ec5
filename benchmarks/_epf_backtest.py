"""The EPF benchmark's walk-forward backtests: each model's refits over a period, the models
in parallel processes or the refits on a compute engine; and the benchmark's log line.
Used by ``epf.py``.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pandas as pd

from heliograph.apps.energy import make_model
from heliograph.compute import Engine
from heliograph.core import DataError
from heliograph.training import backtest

GBM_REFIT_DAYS, GBM_UPDATE_TREES = 7, 10  # daily: GBM refit weekly, 10 trees a day on 56 days


def log(message: str) -> None:
    print(f"[epf] {message}", file=sys.stderr, flush=True)


def backtest_models(
    features: pd.DataFrame,
    fitted: Sequence[str],
    days: pd.DatetimeIndex,
    args: Any,
    what: str,
    engine: Engine | None = None,
) -> dict[str, tuple[pd.DataFrame, int, float]]:
    """Each model's walk-forward backtest over ``days``: with an ``engine`` the refits of each
    model in parallel there, the models in turn; otherwise up to ``args.jobs`` models at once."""
    where = f"the {engine.name} engine" if engine else f"{min(args.jobs, len(fitted))} process(es)"
    log(f"backtesting {', '.join(fitted)} on {where} …")
    jobs = {
        name: dict(
            features=features,
            name=name,
            days=days,
            recalibrate=args.recalibrate,
            train_days=args.train_days,
            description=f"{what} {name}",
            penalty_days=args.penalty_days,
            engine=engine,
        )
        for name in fitted
    }
    if engine is None and args.jobs > 1 and len(fitted) > 1:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(min(args.jobs, len(fitted)), mp_context=context) as pool:
            futures = {name: pool.submit(run_backtest, **job) for name, job in jobs.items()}
            return {name: future.result() for name, future in futures.items()}
    return {name: run_backtest(**job) for name, job in jobs.items()}


def run_backtest(
    features: pd.DataFrame,
    name: str,
    days: pd.DatetimeIndex,
    recalibrate: str,
    train_days: int,
    description: str,
    penalty_days: int = 1,
    engine: Engine | None = None,
) -> tuple[pd.DataFrame, int, float]:
    """One model's walk-forward predictions (indexed by timestamp), its fits and wall time.

    Without an engine LEAR is one instance refit at every block: it starts each day's LARS
    paths as long as the day before needed (the same penalties, sooner), and with
    ``penalty_days`` > 1 keeps its AIC penalties for that many days (see ``Lear``).
    Recalibrated daily, the GBM is one instance refit from scratch every ``GBM_REFIT_DAYS``
    days and given ``GBM_UPDATE_TREES`` more trees per booster on the other days (see
    ``QuantileGBM.fit``). Every other model gets a new instance per block. With an
    ``engine`` the blocks are fit in parallel there, each with a new model: the same LEAR
    forecasts (its kept paths only save time), and a daily GBM refit from scratch each day.
    """
    started = time.perf_counter()
    kept = None
    if engine is None and name == "lear":
        kept = make_model(name, penalty_days=penalty_days)
    elif engine is None and name == "gbm_quantile" and recalibrate == "daily":
        kept = make_model(name, refit_days=GBM_REFIT_DAYS, update_trees=GBM_UPDATE_TREES)
    try:
        result = backtest(
            features,
            (lambda: kept) if kept is not None else (lambda: make_model(name)),
            start=days[0],
            end=days[-1],
            recalibrate=recalibrate,
            train_days=train_days,
            description=description,
            keys=("market",),
            engine=engine,
        )
    except ValueError as exc:  # a model cannot fit what the window holds
        raise DataError(f"{name} cannot be fit: {exc}", field="training window") from None
    wall = time.perf_counter() - started
    return result.predictions.set_index("timestamp"), result.fits, wall
