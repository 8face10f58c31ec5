"""The MLflow form of a price model registered before 0.2: kept so that those versions load.

New versions are logged by the platform as ``heliograph.training.TrainedModel`` (the same
behaviour: feature rows in, P10/P50/P90 out). Imported only when a model is loaded, because it
subclasses MLflow's PythonModel.

Example::

    mlflow.pyfunc.load_model("models:/energy-price-GB@champion").predict(features)
"""

from __future__ import annotations

from heliograph.training import TrainedModel

__all__ = ["PriceForecaster"]  # imported lazily: importing this module imports MLflow


class PriceForecaster(TrainedModel):
    """A fitted price model and its feature ``columns``; answers ``p10``, ``p50``, ``p90``."""

    outputs = ("p10", "p50", "p90")
