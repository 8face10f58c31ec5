"""The MLflow form of a fitted model: feature rows in, the model's output columns out.

Imported only when a model is logged or loaded, because it subclasses MLflow's PythonModel
(``heliograph.training.TrainedModel`` imports it on first use).

Example::

    mlflow.pyfunc.load_model("models:/demand-north@champion").predict(features)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

__all__ = ["TrainedModel"]


class TrainedModel(PythonModel):
    """Wraps a fitted model: ``columns`` are the inputs it was trained on, ``outputs`` the
    columns it answers with (all it predicts when empty)."""

    outputs: tuple[str, ...] = ()

    def __init__(self, model: Any, columns: list[str], outputs: Sequence[str] = ()) -> None:
        self.model = model
        self.columns = columns
        if outputs:
            self.outputs = tuple(outputs)

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        frame = model_input
        # Serving passes the model's float columns in order already: used as they are.
        if not (
            list(frame.columns) == self.columns and all(kind == np.float64 for kind in frame.dtypes)
        ):
            frame = frame.reindex(columns=self.columns).astype(float)
        predicted = self.model.predict(frame)
        if self.outputs:
            predicted = predicted[list(self.outputs)]
        return pd.DataFrame(predicted).reset_index(drop=True)
