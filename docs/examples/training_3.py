from datetime import UTC, datetime

import numpy as np
import pandas as pd

from heliograph.core import FixedClock, init_project
from heliograph.features import FeatureView, point_in_time
from heliograph.lake import open_lake
from heliograph.metrics import forecast_metrics
from heliograph.training import Candidate, TrainingPipeline, train

DATASET = """
[datasets.meter_readings]
key = ["meter", "timestamp"]
time_column = "timestamp"
columns = {meter = "string", timestamp = "timestamp", load = "double", available_at = "timestamp"}
"""
project = init_project("meter", extra=DATASET).with_clock(FixedClock(datetime(2025, 3, 1, tzinfo=UTC)))
hours = pd.date_range("2025-01-01", "2025-02-28 23:00", freq="h", tz="UTC")
load = 100 + 20 * np.sin(2 * np.pi * hours.hour / 24) + np.random.default_rng(0).normal(0, 2, len(hours))
open_lake(project).ingest("meter_readings", pd.DataFrame(
    {"meter": "m1", "timestamp": hours, "load": load, "available_at": hours + pd.Timedelta("1h")}),
    origin="generated")


class LoadFeatures(FeatureView):                # the load 1 and 2 days before, as known at as_of
    name, version, datasets = "meter_load", "1", ("meter_readings",)

    def compute(self, data, requests):
        out, rows = requests.copy(), data["meter_readings"]
        for days in (1, 2):
            out[f"load_{days}d"] = point_in_time(rows, requests, value="load", on=["meter"],
                                                 shift=pd.Timedelta(days=days))
        found = requests.merge(rows, on=["meter", "timestamp"], how="left")
        out["target"] = found["load"].to_numpy()          # the label, and when it became known
        out["target_available_at"] = found["available_at"].to_numpy()
        return out


def load_requests(lake, snapshots, subject):    # each hour, forecast 22 hours before
    stamps = lake.read("meter_readings", snapshot=snapshots["meter_readings"])["timestamp"]
    return pd.DataFrame({"meter": "m1", "timestamp": stamps.iloc[48:],
                         "as_of": stamps.iloc[48:] - pd.Timedelta(hours=22)})


class Yesterday:                                # the load at the same hour yesterday
    def fit(self, frame):
        return self

    def predict(self, frame):
        return pd.DataFrame({"load": frame["load_1d"]}, index=frame.index)


class TwoDays(Yesterday):                       # the mean of the last two days
    def predict(self, frame):
        return pd.DataFrame({"load": frame[["load_1d", "load_2d"]].mean(axis=1)}, index=frame.index)


pipeline = TrainingPipeline(
    name="meter-load",                       # registered as meter-load (or meter-load-<subject>)
    feature_view=LoadFeatures(),             # a heliograph.features.FeatureView
    requests=load_requests,                  # (lake, snapshots, subject) -> the rows to compute
    candidates=[Candidate("yesterday", Yesterday), Candidate("two_days", TwoDays)],
    metrics=lambda predictions, features: forecast_metrics(predictions["target"],
                                                           predictions["load"]),
    keys=("meter",),                         # identifiers kept beside the predictions
    outputs=("load",),                       # what the registered model answers
)
outcome = train(project, pipeline, backtest_days=7, train_days=28,
                progress=lambda step: print(step.stage, step.candidate, step.metrics.get("mae", "")))
print(outcome.best, outcome.version, outcome.metrics[outcome.best]["mae"])
