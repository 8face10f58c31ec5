"""The seasonal naive: the price of the same period a week earlier, the rMAE baseline."""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd

from ._price_model import QUANTILES, _Bands, _column, _fitted, _periods, _result, _training_rows

__all__ = ["SeasonalNaive"]


class SeasonalNaive:
    """The price of the same period one week earlier, with residual-quantile intervals.

    ``p50`` is column ``lag``; where it is missing, column ``fallback`` (if the frame has it;
    ``None`` for no fallback). ``p10``/``p90`` add the 10 %/90 % quantiles of the training
    residuals ``target - p50`` of the row's period. Fitting only computes those quantiles.

    Example::

        naive = SeasonalNaive().fit(train)
        bool((naive.predict(test)["p50"] == test["price_lag_7d"]).all())
        # True
    """

    name = "seasonal_naive"
    quantiles = QUANTILES

    def __init__(self, lag: str = "price_lag_7d", fallback: str | None = "price_lag_1d") -> None:
        self.lag = lag
        self.fallback = fallback
        self.bands_: _Bands | None = None

    def _point(self, frame: pd.DataFrame) -> np.ndarray:
        point = _column(frame, self.lag)
        if self.fallback is not None and self.fallback in frame.columns:
            point = np.where(np.isnan(point), _column(frame, self.fallback), point)
        return point

    def fit(self, frame: pd.DataFrame) -> Self:
        """Learn the residual quantiles per period on the rows with a known target."""
        train, y = _training_rows(frame)
        self.bands_ = _Bands.fit(_periods(train), y - self._point(train))
        return self

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``p10``, ``p50``, ``p90`` on ``frame.index``; NaN only where both lags are NaN."""
        bands: _Bands = _fitted(self.bands_, self)
        mid = self._point(frame)
        lower, upper = bands.offsets(_periods(frame))
        return _result(frame.index, mid + lower, mid, mid + upper)

    def params(self) -> dict[str, Any]:
        """Flat hyperparameters for experiment tracking."""
        return {"model": self.name, "lag": self.lag, "fallback": self.fallback or "none"}
