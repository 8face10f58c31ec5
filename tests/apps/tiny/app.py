"""A second app, as small as an app can be: hourly readings of a meter, a forecast of the next.

It is the proof that the platform is not shaped around energy: it declares a dataset with a
check, a feature view, two candidate models, a training pipeline and a service, from the
public API alone (names in the packages' ``__all__``), and leaves the rest to the platform.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel

from heliograph.features import FeatureView, compute_online, point_in_time
from heliograph.lake import Lake, open_lake
from heliograph.metrics import forecast_metrics
from heliograph.serving import Service, ServiceContext, ServiceFeatures
from heliograph.training import Candidate, TrainingPipeline

CONFIG = """
[datasets.meter_readings]
key = ["meter", "timestamp"]
time_column = "timestamp"

[datasets.meter_readings.columns]
meter = "string"
timestamp = "timestamp"
load = "double"
available_at = "timestamp"

[[datasets.meter_readings.checks]]
type = "between"
column = "load"
min = 0
"""
DAY, AHEAD = pd.Timedelta(days=1), pd.Timedelta(hours=22)


def readings(days: int, seed: int = 0) -> pd.DataFrame:
    """Hourly load: a daily shape on a level that reverts to 100; each known an hour on."""
    rng = np.random.default_rng(seed)
    stamps = pd.date_range("2025-01-01", periods=24 * days, freq="h", tz="UTC")
    level = np.full(days, 100.0)
    for day in range(1, days):
        level[day] = 100 + 0.5 * (level[day - 1] - 100) + rng.normal(0, 8)
    level = level.repeat(24)
    load = level + 20 * np.sin(2 * np.pi * stamps.hour / 24) + rng.normal(0, 2, len(stamps))
    return pd.DataFrame(
        {
            "meter": "m1",
            "timestamp": stamps,
            "load": load,
            "available_at": stamps + pd.Timedelta("1h"),
        }
    )


class LoadFeatures(FeatureView):
    """The load a day and two days earlier, and the hour of the day as a circle."""

    name, version, datasets = "meter_load", "1", ("meter_readings",)

    def compute(self, data: Mapping[str, pd.DataFrame], requests: pd.DataFrame) -> pd.DataFrame:
        out, rows = requests.copy(), data["meter_readings"]
        for days in (1, 2):
            out[f"load_{days}d"] = point_in_time(
                rows, requests, value="load", on=["meter"], shift=days * DAY
            )
        angle = 2 * np.pi * requests["timestamp"].dt.hour / 24
        out["hour_sin"], out["hour_cos"] = np.sin(angle), np.cos(angle)
        found = requests.merge(rows, on=["meter", "timestamp"], how="left")
        out["target"] = found["load"].to_numpy(dtype=float)
        out["target_available_at"] = found["available_at"].to_numpy()
        return out


def requests_for(meter: str, stamps: Any) -> pd.DataFrame:
    """Forecast each hour 22 hours ahead: the same hour yesterday is just known."""
    stamps = pd.DatetimeIndex(stamps)
    return pd.DataFrame({"meter": meter, "timestamp": stamps, "as_of": stamps - AHEAD})


class Yesterday:
    """The load at the same hour yesterday."""

    def fit(self, frame: pd.DataFrame) -> Yesterday:
        return self

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"load": frame["load_1d"].to_numpy()}, index=frame.index)


class LeastSquares:
    """Ordinary least squares on the features (missing values taken as their mean)."""

    columns = ("load_1d", "load_2d", "hour_sin", "hour_cos")

    def fit(self, frame: pd.DataFrame) -> LeastSquares:
        rows = frame.dropna(subset=[*self.columns, "target"])
        x = np.column_stack([np.ones(len(rows)), rows[list(self.columns)].to_numpy(float)])
        self.coef = np.linalg.lstsq(x, rows["target"].to_numpy(float), rcond=None)[0]
        self.fill = rows[list(self.columns)].mean()
        return self

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        x = frame[list(self.columns)].astype(float).fillna(self.fill).to_numpy()
        load = self.coef[0] + x @ self.coef[1:]
        return pd.DataFrame({"load": load}, index=frame.index)


def _requests(lake: Lake, snapshots: Mapping[str, str], subject: str | None) -> pd.DataFrame:
    rows = lake.read("meter_readings", snapshot=snapshots["meter_readings"])
    return requests_for("m1", rows["timestamp"].iloc[48:])


def _metrics(predictions: pd.DataFrame, features: pd.DataFrame) -> dict[str, float]:
    return forecast_metrics(predictions["target"], predictions["load"])


PIPELINE = TrainingPipeline(
    name="meter-load",
    feature_view=LoadFeatures(),
    requests=_requests,
    candidates=[Candidate("yesterday", Yesterday), Candidate("least_squares", LeastSquares)],
    metrics=_metrics,
    keys=("meter",),
    outputs=("load",),
)


class LoadRequest(BaseModel):
    timestamp: datetime


class LoadResponse(BaseModel):
    timestamp: datetime
    load: float
    version: str


class LoadForecast(Service):
    name = "meter-load"
    Request: ClassVar[type[BaseModel]] = LoadRequest
    Response: ClassVar[type[BaseModel]] = LoadResponse

    def models(self, context: ServiceContext) -> list[str]:
        return [PIPELINE.model_name()]

    def model_for(self, request: Any) -> str:
        return PIPELINE.model_name()

    def features(self, context: ServiceContext, request: Any) -> ServiceFeatures:
        asked = requests_for("m1", [pd.Timestamp(request.timestamp)])
        rows = compute_online(open_lake(context.project), LoadFeatures(), asked)
        return ServiceFeatures(rows, asked["as_of"].iloc[0].to_pydatetime())

    def respond(
        self, request: Any, features: ServiceFeatures, outputs: pd.DataFrame, version: str
    ) -> BaseModel:
        load = float(pd.DataFrame(outputs)["load"].iloc[0])
        return LoadResponse(timestamp=request.timestamp, load=load, version=version)
