"""A model version in memory, ready to predict: pyfunc, native fast path, memory of predictions.

Example::

    model = load_version(registry, "energy-price-GB", "3")
    model.predict_cached(model.inputs(rows))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from heliograph.features import column_names, column_positions

__all__ = ["LoadedModel"]

_MEMO = 512


@dataclass
class LoadedModel:
    """One model version in memory, ready to predict."""

    name: str
    version: str
    run_id: str
    loaded_at: datetime
    pyfunc: Any
    input_example: pd.DataFrame | None
    columns: list[str] | None
    native: Any = None  # a LightGBM booster or scikit-learn estimator, for the fast path
    load_seconds: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)
    _memo: dict[Any, pd.DataFrame] = field(default_factory=dict, repr=False)

    def inputs(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model's input columns of ``frame``, as the types its signature declares."""
        if not self.columns:
            return frame
        types = self.meta.get("types", {})
        if types and all(types.get(c) == "double" for c in self.columns):
            # One float matrix, columns taken by position (looked up once per index) into one
            # column index kept here: selecting and typing hundreds of columns by name costs
            # milliseconds, most of a domain answer.
            positions = column_positions(frame.columns, self.columns)
            values = frame.iloc[:, positions].to_numpy(dtype=np.float64, na_value=np.nan)
            index = self.meta.get("columns_index")
            if index is None:
                index = self.meta["columns_index"] = pd.Index(self.columns)
            return pd.DataFrame(values, columns=index, index=frame.index)
        selected = frame[self.columns]
        kinds = selected.dtypes
        doubles = [c for c, kind in types.items() if kind == "double" and kinds[c] != np.float64]
        return selected.astype(dict.fromkeys(doubles, "float64")) if doubles else selected

    def predict_frame(self, frame: pd.DataFrame) -> Any:
        """Predict through the model's pyfunc (any flavour), or straight through its Python
        model when loading found that the two agree (MLflow's per-column schema checks cost
        more than a forecast on hundreds of columns; ``inputs`` already types the columns)."""
        direct = self.meta.get("direct")
        if direct is not None:
            if frame.columns is self.meta.get("columns_index") and hasattr(direct, "model"):
                # ``inputs``' own float frame, the model's columns in order: what the Python
                # model's ``predict`` would check (milliseconds on hundreds of columns) holds.
                predicted = pd.DataFrame(direct.model.predict(frame))
                outputs = list(getattr(direct, "outputs", ()))
                if outputs and list(predicted.columns) != outputs:
                    predicted = predicted[outputs]
                return predicted.reset_index(drop=True)
            return direct.predict(None, frame)
        return self.pyfunc.predict(frame)

    def predict_cached(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``predict_frame``, remembering the answers to the last inputs seen.

        A registered version is a fixed function: the same rows give the same answer. Domain
        requests often repeat (every client asking for today's prices), so the last
        ``_MEMO`` distinct inputs of each version are answered from memory.
        """
        values = frame.to_numpy(dtype="float64", na_value=np.nan)
        key = (column_names(frame.columns), values.tobytes())
        found = self._memo.get(key)
        if found is None:
            found = pd.DataFrame(self.predict_frame(frame))
            if len(self._memo) >= _MEMO:
                self._memo.pop(next(iter(self._memo)))
            self._memo[key] = found
        return found.set_axis(frame.index) if len(found) == len(frame) else found

    def predict_rows(self, rows: np.ndarray, columns: list[str] | None) -> Any:
        """Predict a 2-D array: the native model when there is one (microseconds), else pyfunc.

        Returns a contiguous array, or a list of records when the model answers with a table.
        """
        if self.native is not None and (
            columns is None or self.columns is None or list(columns) == self.columns
        ):
            # One thread: for a row or a few, OpenMP's fan-out costs far more than it saves
            # (0.5-3 ms instead of ~60 us on a busy 2-core machine).
            if self.meta.get("lightgbm"):
                return np.ascontiguousarray(self.native.predict(rows, num_threads=1))
            return np.ascontiguousarray(self.native.predict(rows))
        frame = self.inputs(pd.DataFrame(rows, columns=columns or self.columns))
        output = self.pyfunc.predict(frame)
        if isinstance(output, pd.DataFrame):
            return output.to_dict("records")
        return np.ascontiguousarray(output)
