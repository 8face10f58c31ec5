"""The input rules every metric shares: array-likes matched by position, NaN rows left out.

Every metric takes array-likes (numpy arrays, pandas Series, lists) matched by position (a
Series' index is ignored; 2-D inputs are flattened). Rows where any input of the metric is NaN
are left out; when no row is left the metric is NaN. Inputs of different lengths raise
``ValueError``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ArrayLike"]

ArrayLike = Any
"""A numpy array, pandas Series/Index or list of numbers."""


def _as_float(values: ArrayLike) -> np.ndarray:
    if isinstance(values, pd.Series | pd.Index):
        return values.to_numpy(dtype=float, na_value=np.nan).ravel()
    return np.asarray(values, dtype=float).ravel()


def _rows(names: tuple[str, ...], *arrays: ArrayLike) -> list[np.ndarray]:
    """The arrays as 1-D floats, restricted to the rows where none of them is NaN."""
    converted = [_as_float(a) for a in arrays]
    first = converted[0]
    for name, array in zip(names[1:], converted[1:], strict=True):
        if len(array) != len(first):
            raise ValueError(
                f"{names[0]} has {len(first)} values but {name} has {len(array)}; "
                "they must have the same length"
            )
    keep = np.ones(len(first), dtype=bool)
    for array in converted:
        keep &= ~np.isnan(array)
    return [array[keep] for array in converted]


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if len(values) else math.nan


def _check_q(q: float) -> float:
    q = float(q)
    if not 0.0 < q < 1.0:
        raise ValueError(f"quantile level must be strictly between 0 and 1, got {q}")
    return q
