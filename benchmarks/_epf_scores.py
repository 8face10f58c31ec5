"""The EPF benchmark's scores: the epftoolbox's rMAE scale, point scores, interval coverage
(raw and conformally corrected), the adaptive blend's weights, the Diebold–Mariano test, and
the choice of the forecast to stand behind, made on a validation period before the test period.

Pure functions of hourly series over one test period (whole days), used by ``epf.py``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from heliograph.metrics import mae, rmse, smape

CONFORMAL_DAYS, CONFORMAL_MIN_DAYS = 28, 7
BLEND_DAYS, BLEND_MIN_DAYS = 28, 7
DM_LEVEL = 0.05
WEEK = pd.Timedelta(hours=168)


def naive_mae(actual: pd.Series) -> float:
    """MAE of the weekly naive over the test period's own prices (epftoolbox's rMAE scale)."""
    naive = pd.Series(actual.to_numpy(), index=actual.index + WEEK).reindex(actual.index)
    return mae(actual.to_numpy(), naive.to_numpy())


def scores(actual: pd.Series, forecast: pd.Series, scale: float) -> dict[str, float]:
    """MAE, rMAE (epftoolbox convention, ``scale`` = the naive's MAE), sMAPE (%), RMSE."""
    a, f = actual.to_numpy(dtype=float), forecast.to_numpy(dtype=float)
    error = mae(a, f)
    values = {
        "mae": error,
        "rmae": error / scale if scale > 0 else math.nan,
        "smape": smape(a, f),
        "rmse": rmse(a, f),
    }
    return {key: round(value, 4) for key, value in values.items()}


def coverage(actual: pd.Series, low: pd.Series, high: pd.Series) -> float:
    """The share of hours whose price lies in [low, high]."""
    a = actual.to_numpy(dtype=float)
    inside = (a >= low.to_numpy(dtype=float)) & (a <= high.to_numpy(dtype=float))
    return round(float(np.mean(inside)), 4)


def _daily(values: pd.Series) -> np.ndarray:
    """Hourly values (one test period, whole days) as a days x hours array."""
    days = values.index.normalize()
    return np.vstack([group.to_numpy(dtype=float) for _, group in values.groupby(days)])


def conformal(predictions: pd.DataFrame, days: int = CONFORMAL_DAYS) -> pd.DataFrame:
    """P10/P90 corrected on recent out-of-sample errors (split-conformal, rolling).

    For each test day D, the lower bound moves by the 90 % quantile of ``p10 - target`` over
    the test days D-``days`` .. D-1 (all known at D-1 10:00), the upper by that of
    ``target - p90``; so each side misses about 10 % of the recent outcomes, whatever the
    model's own bands did. Before ``CONFORMAL_MIN_DAYS`` days of history the bands are kept.
    """
    table = predictions[["target", "p10", "p50", "p90"]]
    day = table.index.normalize()
    unique = day.unique().sort_values()
    below = (table["p10"] - table["target"]).groupby(day).apply(lambda s: s.to_numpy())
    above = (table["target"] - table["p90"]).groupby(day).apply(lambda s: s.to_numpy())
    shift_low, shift_high = pd.Series(0.0, index=unique), pd.Series(0.0, index=unique)
    for i, d in enumerate(unique):
        past = unique[max(0, i - days) : i]
        if len(past) < CONFORMAL_MIN_DAYS:
            continue
        lo, hi = (
            np.concatenate(below.loc[past].to_list()),
            np.concatenate(above.loc[past].to_list()),
        )
        level = min(1.0, 0.9 * (1 + 1 / lo.size))
        shift_low[d], shift_high[d] = np.quantile(lo, level), np.quantile(hi, level)
    out = table.copy()
    out["p10"] = table["p10"] - shift_low.reindex(day).to_numpy()
    out["p90"] = table["p90"] + shift_high.reindex(day).to_numpy()
    out["p10"] = np.minimum(out["p10"], out["p50"])
    out["p90"] = np.maximum(out["p90"], out["p50"])
    return out


def adaptive_blend(
    first: pd.DataFrame, second: pd.DataFrame, days: int = BLEND_DAYS
) -> tuple[pd.DataFrame, list[float]]:
    """The blend whose weight on ``first`` is chosen before each test day on the days before.

    A rule fixed in advance, the same on every market: for day D the weight (0, 0.1, .., 1)
    whose blend had the lowest MAE over the test days D-``days`` .. D-1 (known at D-1 10:00);
    0.5 until ``BLEND_MIN_DAYS`` days have been forecast. Returns the forecasts and the weights.
    """
    grid = np.round(np.linspace(0.0, 1.0, 11), 1)
    day = first.index.normalize()
    unique = day.unique().sort_values()
    error = {
        w: (w * first["p50"] + (1 - w) * second["p50"] - first["target"]).abs().groupby(day).sum()
        for w in grid
    }
    table = pd.DataFrame(error).reindex(unique)
    weights = []
    for i in range(len(unique)):
        past = table.iloc[max(0, i - days) : i]
        weights.append(0.5 if len(past) < BLEND_MIN_DAYS else float(past.sum().idxmin()))
    w = pd.Series(weights, index=unique).reindex(day).to_numpy()
    out = first[["target"]].copy()
    for column in ("p10", "p50", "p90"):
        out[column] = w * first[column].to_numpy() + (1 - w) * second[column].to_numpy()
    values = np.sort(out[["p10", "p50", "p90"]].to_numpy(), axis=1)
    out[["p10", "p50", "p90"]] = values
    return out, weights


def diebold_mariano(actual: pd.Series, ours: pd.Series, theirs: pd.Series) -> dict[str, Any]:
    """The epftoolbox's multivariate DM test (norm 1): the loss differential is the daily
    mean absolute error of one forecast minus the other's, over whole test days.

    ``p_ours_better``: the one-sided p-value of "ours is not more accurate"; ``p_theirs_better``
    the reverse. ``verdict``: "better" or "worse" when one of them is below 0.05, else "tie".
    """
    from scipy import stats

    a, f, g = _daily(actual), _daily(ours), _daily(theirs)
    d = np.mean(np.abs(a - g), axis=1) - np.mean(np.abs(a - f), axis=1)  # > 0: ours better
    if d.size < 2 or not np.var(d) > 0:
        return {
            "days": int(d.size),
            "p_ours_better": None,
            "p_theirs_better": None,
            "verdict": "tie",
        }
    statistic = float(np.mean(d) / np.sqrt(np.var(d) / d.size))
    p_ours, p_theirs = 1 - stats.norm.cdf(statistic), stats.norm.cdf(statistic)
    verdict = "better" if p_ours < DM_LEVEL else "worse" if p_theirs < DM_LEVEL else "tie"
    return {
        "days": int(d.size),
        "statistic": round(statistic, 4),
        "p_ours_better": float(f"{p_ours:.4g}"),
        "p_theirs_better": float(f"{p_theirs:.4g}"),
        "verdict": verdict,
    }


def choose(
    actual: pd.Series,
    forecasts: dict[str, pd.DataFrame],
    members: tuple[str, str] | None,
) -> dict[str, Any]:
    """The forecast the benchmark stands behind, chosen on a validation period before the
    test period: the least MAE there among every model backtested, the blends of ``members``
    with weight 0.1 .. 0.9 on the first, and the adaptive blend. Returns the choice (``model``
    and ``weight`` of the first member, ``None`` for a single model) and every candidate's
    validation MAE; :func:`chosen_forecast` applies it to the test period's forecasts.
    """
    a = actual.to_numpy(dtype=float)
    candidates: dict[str, tuple[str, float | None]] = {name: (name, None) for name in forecasts}
    errors = {
        name: mae(a, f["p50"].reindex(actual.index).to_numpy(dtype=float))
        for name, f in forecasts.items()
    }
    if members is not None and all(m in forecasts for m in members):
        first, second = (forecasts[m].reindex(actual.index) for m in members)
        for w in np.round(np.linspace(0.1, 0.9, 9), 1):
            key = f"blend_{w:g}"
            candidates[key] = ("blend", float(w))
            errors[key] = mae(a, (w * first["p50"] + (1 - w) * second["p50"]).to_numpy())
        adaptive, _ = adaptive_blend(first, second)
        candidates["blend_adaptive"] = ("blend_adaptive", None)
        errors["blend_adaptive"] = mae(a, adaptive["p50"].to_numpy())
    best = min(errors, key=lambda k: (math.isnan(errors[k]), errors[k]))
    model, weight = candidates[best]
    return {
        "model": model,
        "weight": weight,
        "candidate": best,
        "validation_mae": {k: round(v, 4) for k, v in errors.items()},
    }


def chosen_forecast(
    choice: dict[str, Any], forecasts: dict[str, pd.DataFrame], members: tuple[str, str] | None
) -> pd.DataFrame:
    """The test period's forecasts of the choice :func:`choose` made."""
    if choice["weight"] is None:
        return forecasts[choice["model"]]
    assert members is not None
    w = float(choice["weight"])
    first, second = (forecasts[m] for m in members)
    out = first[["target"]].copy()
    for column in ("p10", "p50", "p90"):
        out[column] = w * first[column].to_numpy() + (1 - w) * second[column].to_numpy()
    out[["p10", "p50", "p90"]] = np.sort(out[["p10", "p50", "p90"]].to_numpy(), axis=1)
    return out
