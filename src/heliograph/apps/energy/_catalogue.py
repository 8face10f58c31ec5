"""The price models by name: :func:`make_model` builds any of :data:`MODEL_NAMES`."""

from __future__ import annotations

import inspect
from typing import Any

from ._blend import Blend
from ._lear import Lear
from ._price_model import MODEL_NAMES, PriceModel
from ._quantile_gbm import QuantileGBM
from ._seasonal_naive import SeasonalNaive

__all__ = ["make_model"]


_MODELS: dict[str, type] = dict(
    zip(MODEL_NAMES, (SeasonalNaive, Lear, QuantileGBM, Blend), strict=True)
)


def make_model(name: str, **params: Any) -> PriceModel:
    """A model by name (one of :data:`MODEL_NAMES`), with its hyperparameters.

    >>> make_model("gbm_quantile", n_estimators=100).params()["n_estimators"]
    100
    """
    cls = _MODELS.get(name)
    if cls is None:
        raise ValueError(f"unknown model {name!r}: known models are {', '.join(MODEL_NAMES)}")
    try:
        inspect.signature(cls).bind(**params)
    except TypeError as exc:
        raise ValueError(f"model {name!r}: {exc}") from None
    return cls(**params)
