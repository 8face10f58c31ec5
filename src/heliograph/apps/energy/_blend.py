"""The blend: a weighted mean of other price models' forecasts (LEAR's and the GBM's)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import pandas as pd

from ._price_model import MODEL_NAMES, PREDICTION_COLUMNS, QUANTILES, PriceModel, _fitted, _result

__all__ = ["Blend", "combine"]


def combine(forecasts: Sequence[pd.DataFrame], weights: Sequence[float]) -> pd.DataFrame:
    """The weighted mean of forecasts (``p10``, ``p50``, ``p90`` on one index), sorted per row.

    Example::

        combine([lear.predict(test), gbm.predict(test)], [0.5, 0.5])
    """
    if not forecasts or len(forecasts) != len(weights):
        raise ValueError("combine needs one weight per forecast, and at least one forecast")
    index = forecasts[0].index
    total = np.zeros((len(index), len(PREDICTION_COLUMNS)))
    for forecast, weight in zip(forecasts, weights, strict=True):
        if not forecast.index.equals(index):
            raise ValueError("the forecasts to combine are not on the same index")
        total += weight * forecast[list(PREDICTION_COLUMNS)].to_numpy(dtype=np.float64)
    out = np.sort(total / float(np.sum(weights)), axis=1)
    return _result(index, out[:, 0], out[:, 1], out[:, 2])


class Blend:
    """The weighted mean of other models' forecasts: by default LEAR's and the GBM's, equally.

    A forecast combination: LEAR is linear in yesterday's whole price profile and the driver
    forecasts, the GBM is a tree model of the change from yesterday; their errors are far from
    perfectly correlated, so their mean beats each of them (``benchmarks/README.md`` has the
    figures). Equal weights are the robust default: weights tuned on past errors rarely beat
    them out of sample. Each member is fit on the same rows with its default parameters.
    ``p10``/``p90`` are the weighted means of the members' quantiles (then sorted per row).

    Example::

        Blend().fit(train).predict(test).columns.tolist()
        # ['p10', 'p50', 'p90']
    """

    name = "blend"
    quantiles = QUANTILES

    def __init__(
        self,
        members: Sequence[str] = ("lear", "gbm_quantile"),
        weights: Sequence[float] | None = None,
    ) -> None:
        members = tuple(members)
        wrong = [m for m in members if m not in MODEL_NAMES or m == self.name]
        if not members or wrong:
            raise ValueError(
                f"blend members must be other models of {', '.join(MODEL_NAMES)}: "
                f"{wrong[0] if wrong else 'none given'!r}"
            )
        weights = tuple(float(w) for w in weights) if weights is not None else None
        if weights is not None and (
            len(weights) != len(members) or not all(w >= 0 for w in weights) or not sum(weights)
        ):
            raise ValueError(
                f"blend weights must be one non-negative number per member, not all 0: {weights}"
            )
        self.members = members
        self.weights = weights or tuple(1.0 / len(members) for _ in members)
        self.models_: list[PriceModel] | None = None

    @classmethod
    def of(cls, fitted: Sequence[PriceModel], weights: Sequence[float] | None = None) -> Blend:
        """A fitted blend of models already fit (on the same rows, for a meaningful blend)."""
        blend = cls(members=[model.name for model in fitted], weights=weights)
        blend.models_ = list(fitted)
        return blend

    def fit(self, frame: pd.DataFrame) -> Self:
        """Fit every member on the frame."""
        from ._catalogue import make_model  # the catalogue holds the blend: imported on use

        self.models_ = [make_model(name).fit(frame) for name in self.members]
        return self

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``p10``, ``p50``, ``p90`` on ``frame.index``: :func:`combine` of the members'."""
        models: list[PriceModel] = _fitted(self.models_, self)
        return combine([model.predict(frame) for model in models], self.weights)

    def params(self) -> dict[str, Any]:
        """Flat hyperparameters for experiment tracking."""
        return {
            "model": self.name,
            "members": ",".join(self.members),
            "weights": ",".join(f"{w:g}" for w in self.weights),
        }
