"""Where named columns sit in a frame's column index, looked up once per index.

Serving reads hundreds of feature columns of every answer's rows by name; looking the names
up costs more than some forecasts. A column index is immutable, and the rows of one stored
state share one, so positions are remembered per index object (each entry holds its index:
its id cannot be reused while remembered).

Example::

    values = frame.to_numpy()[:, column_positions(frame.columns, ["price_lag_1d", "dow"])]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["column_names", "column_positions"]

_KEPT = 256
_KNOWN: dict[tuple[int, tuple[str, ...]], tuple[pd.Index, np.ndarray]] = {}
_NAMES: dict[int, tuple[pd.Index, tuple[str, ...]]] = {}


def column_names(index: pd.Index) -> tuple[str, ...]:
    """``tuple(index)``, once per index object: iterating a string index of hundreds of
    names (Arrow-backed in pandas 3) costs ~0.2-0.4 ms, paid by every answer otherwise."""
    found = _NAMES.get(id(index))
    if found is None or found[0] is not index:
        if len(_NAMES) >= _KEPT:
            _NAMES.clear()
        found = _NAMES[id(index)] = (index, tuple(index))
    return found[1]


def column_positions(
    index: pd.Index, columns: Sequence[str], *, missing_ok: bool = False
) -> np.ndarray:
    """The positions of ``columns`` in ``index`` (unique); a missing column raises
    ``ValueError`` naming it, or (``missing_ok``) is at position -1."""
    key = (id(index), tuple(columns))
    found = _KNOWN.get(key)
    if found is None or found[0] is not index:
        positions = index.get_indexer(list(columns))
        positions.flags.writeable = False
        if len(_KNOWN) >= _KEPT:
            _KNOWN.clear()
        _KNOWN[key] = found = (index, positions)
    positions = found[1]
    if not missing_ok and (positions < 0).any():
        lacking = [c for c, i in zip(columns, positions, strict=True) if i < 0]
        raise ValueError(f"columns missing from the frame: {lacking}")
    return positions
