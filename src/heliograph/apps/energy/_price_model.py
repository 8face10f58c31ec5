"""The interface every day-ahead price forecaster shares, and the helpers they share.

Every model reads the feature frame (one row per market and target period, forecast made at
``as_of``), fits on the rows whose ``target`` is known and predicts three quantiles, columns
``p10``, ``p50``, ``p90``, on the frame's index, with ``p10 <= p50 <= p90`` on every row.

Features are the columns given at construction or, by default, every numeric column except
``target`` and the identifiers ``market``, ``timestamp`` and ``as_of``. A frame with several
markets is pooled (``market`` is not a feature); fit one model per market to keep them apart.
Missing feature values are handled: LightGBM natively, LEAR by the training median (no
indicator), the seasonal naive by a fallback lag. The models, one module each:

- :class:`SeasonalNaive` (``_seasonal_naive``): the price a week earlier, the rMAE baseline;
- :class:`Lear` (``_lear``): one LASSO per period of the day on asinh-stabilised prices;
- :class:`QuantileGBM` (``_quantile_gbm``): three LightGBM quantile regressions;
- :class:`Blend` (``_blend``): the mean of LEAR's and the GBM's forecasts;

and :func:`make_model` (``_catalogue``) builds any of them by name.

Example::

    make_model("lear").fit(train).predict(test).columns.tolist()
    # ['p10', 'p50', 'p90']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, Self, runtime_checkable

import numpy as np
import pandas as pd

from heliograph.features import column_positions

__all__ = ["MODEL_NAMES", "PREDICTION_COLUMNS", "QUANTILES", "PriceModel"]

QUANTILES: tuple[float, ...] = (0.1, 0.5, 0.9)
PREDICTION_COLUMNS: tuple[str, ...] = ("p10", "p50", "p90")
MODEL_NAMES: tuple[str, ...] = ("seasonal_naive", "lear", "gbm_quantile", "blend")

_TARGET = "target"
_PERIOD = "period"
_NOT_FEATURES = frozenset({"market", "timestamp", "as_of", _TARGET, "target_available_at"})
_TINY = 1e-12
_MIN_BAND_ROWS = 20  # fewer residuals in a period: its band is the pooled one


@runtime_checkable
class PriceModel(Protocol):
    """What every forecaster offers.

    Example::

        model: PriceModel = make_model("seasonal_naive")
        model.fit(train).predict(test).columns.tolist()
        # ['p10', 'p50', 'p90']
    """

    name: str
    quantiles: tuple[float, ...]

    def fit(self, frame: pd.DataFrame) -> Self: ...  # on the rows with a known target
    def predict(self, frame: pd.DataFrame) -> pd.DataFrame: ...  # p10, p50, p90 on frame.index
    def params(self) -> dict[str, Any]: ...  # flat: str, int, float or bool values


def _feature_columns(frame: pd.DataFrame, features: Sequence[str] | None) -> list[str]:
    if features is None:
        features = [
            c
            for c in frame.columns
            if isinstance(c, str)
            and c not in _NOT_FEATURES
            and pd.api.types.is_numeric_dtype(frame[c].dtype)
        ]
        if not features:
            raise ValueError("the frame has no numeric feature column")
    _matrix(frame.iloc[:0], features)  # checks that they exist
    return list(features)


_FLOAT = np.dtype(np.float64)


class _Columns:
    """A frame's feature columns read as floats; a frame of floats only (what serving
    passes) is read once as one matrix and its columns taken by position.

    Example::

        read = _Columns(frame)
        read.matrix(["price_lag_1d", "dow"]).shape, read.column("period").shape
        # ((48, 2), (48,))
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.values: np.ndarray | None = None
        # Not `(frame.dtypes == np.float64).all()`: a Series comparison of hundreds of dtypes
        # costs ~0.2 ms, paid several times by every forecast.
        if (
            frame.shape[1]
            and frame.columns.is_unique
            and all(kind == _FLOAT for kind in frame.dtypes.to_numpy())
        ):
            self.values = frame.to_numpy()

    def matrix(self, columns: Sequence[str]) -> np.ndarray:
        if self.values is not None:
            return self.values[:, column_positions(self.frame.columns, columns)]
        missing = [c for c in columns if c not in self.frame.columns]
        if missing:
            raise ValueError(f"columns missing from the frame: {missing}")
        return self.frame[list(columns)].to_numpy(dtype=np.float64, na_value=np.nan)

    def column(self, column: str) -> np.ndarray:
        return self.matrix([column])[:, 0]

    def periods(self) -> np.ndarray:
        values = self.column(_PERIOD)
        if np.isnan(values).any():
            raise ValueError(f"column {_PERIOD!r} has missing values")
        return values.astype(np.int64)


def _matrix(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    return _Columns(frame).matrix(columns)


def _column(frame: pd.DataFrame, column: str) -> np.ndarray:
    return _matrix(frame, [column])[:, 0]


def _training_rows(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows with a finite target, and that target."""
    target = _column(frame, _TARGET)
    known = np.isfinite(target)
    if not known.any():
        raise ValueError("no row with a known target to fit on")
    return frame.loc[known], target[known]


def _periods(frame: pd.DataFrame) -> np.ndarray:
    return _Columns(frame).periods()


def _result(index: pd.Index, lower: np.ndarray, mid: np.ndarray, upper: np.ndarray) -> pd.DataFrame:
    columns = dict(zip(PREDICTION_COLUMNS, (lower, mid, upper), strict=True))
    return pd.DataFrame(columns, index=index, dtype=np.float64)


def _fitted(value: Any, model: object) -> Any:
    if value is None:
        raise RuntimeError(f"{type(model).__name__} is not fitted: call fit() first")
    return value


@dataclass(frozen=True)
class _Bands:
    """The 10 % and 90 % quantiles of training residuals per period (pooled as fallback),
    clipped to ``lower <= 0 <= upper`` so that the band always holds the point forecast."""

    periods: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    pooled: tuple[float, float]

    @classmethod
    def fit(cls, periods: np.ndarray, residuals: np.ndarray) -> _Bands:
        ok = np.isfinite(residuals)
        if not ok.any():
            raise ValueError("no finite training residual to build the intervals from")
        periods, residuals = periods[ok], residuals[ok]
        probs = [QUANTILES[0], QUANTILES[-1]]
        rows = []
        for p in np.unique(periods):
            r = residuals[periods == p]
            if r.size >= _MIN_BAND_ROWS:
                rows.append((p, *np.quantile(r, probs)))
        keys, lo, hi = np.asarray(rows, dtype=np.float64).reshape(-1, 3).T
        pooled = np.quantile(residuals, probs)
        pooled_band = (min(float(pooled[0]), 0.0), max(float(pooled[1]), 0.0))
        return cls(keys.astype(np.int64), np.minimum(lo, 0.0), np.maximum(hi, 0.0), pooled_band)

    def offsets(self, periods: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keys = np.append(self.periods, np.iinfo(np.int64).max)  # a sentinel: never found
        idx = np.minimum(np.searchsorted(keys, periods), self.periods.size)
        found = keys[idx] == periods
        lower, upper = np.append(self.lower, 0.0)[idx], np.append(self.upper, 0.0)[idx]
        return np.where(found, lower, self.pooled[0]), np.where(found, upper, self.pooled[1])
