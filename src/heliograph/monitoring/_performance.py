"""Live performance per model version and role: MAE, RMSE, pinball loss, interval coverage.

The input is a frame of judged predictions (one row per prediction and target time, as
``heliograph.ledger.judged_predictions`` returns), with the point forecast in ``point``
(``p50`` by default) and quantile forecasts in columns named ``pNN`` (``p10``, ``p90``: the
quantile at level NN/100). Rows without an actual are left out. Per (model, version, role):

- ``mae``, ``rmse`` of the point forecast;
- ``pinball``: the mean pinball loss over every quantile column, and ``pinball_pNN`` each;
- ``coverage``: the share of actuals inside the outermost pair of quantiles (``p10``-``p90``),
  beside its ``nominal`` level (0.8) — the alert compares the two;
- the service's business metric, when the app declared one (``business_metric``).

Grouping is by integer codes and ``np.bincount``: one pass over the arrays per metric.

Example::

    performance(judged)[["model_version", "role", "count", "mae", "coverage"]]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

__all__ = ["GROUP", "performance", "quantile_columns"]

GROUP = ("model_name", "model_version", "role")
"""What live metrics are computed per: the registered model, its version, its role."""

_QUANTILE = re.compile(r"^p(\d{1,2})$")


def quantile_columns(frame: pd.DataFrame) -> dict[str, float]:
    """The quantile forecast columns of ``frame`` and their levels: ``{"p10": 0.1, ...}``."""
    found = {}
    for name in frame.columns:
        match = _QUANTILE.match(str(name))
        if match and 0 < int(match.group(1)) < 100:
            found[str(name)] = int(match.group(1)) / 100
    return dict(sorted(found.items(), key=lambda item: item[1]))


def _means(codes: np.ndarray, groups: int, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-group mean of ``values`` over its finite entries, and how many there were."""
    finite = np.isfinite(values)
    count = np.bincount(codes[finite], minlength=groups).astype("float64")
    total = np.bincount(codes[finite], weights=values[finite], minlength=groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count, count


def performance(
    judged: pd.DataFrame,
    *,
    point: str = "p50",
    business: Callable[[pd.DataFrame], float] | None = None,
    business_name: str = "business",
    by: Sequence[str] = GROUP,
) -> pd.DataFrame:
    """One row per (model, version, role) with judged rows: ``count`` and each metric.
    ``by``: other grouping columns (e.g. ``(*GROUP, "day")`` for one row per day)."""
    columns = [*by, "count", "mae", "rmse"]
    if judged.empty or "actual" not in judged or point not in judged:
        return pd.DataFrame(columns=columns)
    judgeable = np.isfinite(judged["actual"].to_numpy(dtype="float64"))
    frame = judged if judgeable.all() else judged[judgeable]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    grouped = frame.groupby(list(by), sort=True, observed=True, dropna=False)
    codes = grouped.ngroup().to_numpy()
    out = grouped.size().reset_index()[list(by)]
    groups = len(out)
    actual = frame["actual"].to_numpy(dtype="float64")
    error = frame[point].to_numpy(dtype="float64") - actual
    out["mae"], out["count"] = _means(codes, groups, np.abs(error))
    out["count"] = out["count"].astype("int64")
    out["rmse"] = np.sqrt(_means(codes, groups, error * error)[0])
    quantiles = quantile_columns(frame)
    losses = []
    for name, level in quantiles.items():
        diff = actual - frame[name].to_numpy(dtype="float64")
        loss = np.maximum(level * diff, (level - 1) * diff)
        out[f"pinball_{name}"] = _means(codes, groups, loss)[0]
        losses.append(out[f"pinball_{name}"])
    if losses:
        out["pinball"] = np.mean(np.vstack(losses), axis=0)
    if len(quantiles) >= 2:
        (low, low_level), (high, high_level) = (
            next(iter(quantiles.items())),
            list(quantiles.items())[-1],
        )
        lower = frame[low].to_numpy(dtype="float64")
        upper = frame[high].to_numpy(dtype="float64")
        inside = ((actual >= lower) & (actual <= upper)).astype("float64")
        inside[~(np.isfinite(lower) & np.isfinite(upper))] = np.nan
        out["coverage"] = _means(codes, groups, inside)[0]
        out["nominal"] = high_level - low_level
    if business is not None:
        values = []
        for code in range(groups):
            try:
                values.append(float(business(frame[codes == code])))
            except ValueError:  # the app's metric cannot be computed over these rows
                values.append(float("nan"))
        out[business_name] = values
    return out[[c for c in out.columns if c in columns] + [c for c in out if c not in columns]]
