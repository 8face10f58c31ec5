"""The MLflow form of a fitted price model: feature rows in, P10/P50/P90 out.

Imported only when a model is logged or loaded, because it subclasses MLflow's PythonModel.

>>> mlflow.pyfunc.load_model("models:/energy-price-GB@champion").predict(features)
"""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc
import pandas as pd

__all__ = ["PriceForecaster"]  # imported lazily: importing this module imports MLflow


class PriceForecaster(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
    """Wraps a fitted model; ``columns`` are the feature columns it was trained on."""

    def __init__(self, model: Any, columns: list[str]) -> None:
        self.model = model
        self.columns = columns

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        frame = model_input.reindex(columns=self.columns).astype(float)
        return self.model.predict(frame)[["p10", "p50", "p90"]].reset_index(drop=True)
