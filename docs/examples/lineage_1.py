import pandas as pd

from heliograph.core import init_project
from heliograph.lake import open_lake, take_snapshot
from heliograph.registry import lineage, retract_data

CONFIG = """
[datasets.readings]
key = ["meter", "timestamp"]
time_column = "timestamp"
columns = { meter = "string", timestamp = "timestamp", load = "double" }
"""
project = init_project("incident", extra=CONFIG)
lake = open_lake(project)
hours = pd.date_range("2025-06-01", periods=72, freq="h", tz="UTC")  # three days
frame = pd.DataFrame({"meter": "m1", "timestamp": hours, "load": 1.0})
lake.ingest("readings", frame, origin="feed")
snap = take_snapshot(lake, "readings")

# The feed double-counted on 2 June: who used that day? (the ledger and the lake suffice)
used = lineage(project, "readings/date=2025-06-02", mlflow=False)
print(used.snapshots == [snap.id], used.versions, used.predictions)

retraction, _ = retract_data(
    project, "readings/date=2025-06-02", reason="meter double-counted", mlflow=False
)
print(retraction.partitions)
print(take_snapshot(lake, "readings").partitions)  # the next snapshot is without it
