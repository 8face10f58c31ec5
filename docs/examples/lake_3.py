import pandas as pd

from heliograph.checks import between, not_null, row_count
from heliograph.lake import Dataset, Lake, take_snapshot

prices = Dataset(
    "prices",
    columns={"market": "string", "timestamp": "timestamp", "price": "double"},
    key=("market", "timestamp"),
    time_column="timestamp",
    checks=(not_null("price"), between("price", -500, 4000, mostly=0.99), row_count(min=24)),
)
lake = Lake("lake", [prices])

hours = pd.date_range("2025-06-01", periods=48, freq="h", tz="UTC")  # two days
frame = pd.DataFrame({"market": "GB", "timestamp": hours, "price": range(48)})
print(lake.ingest("prices", frame, origin="notebook").summary())

snap = take_snapshot(lake, "prices")
print(snap.id, snap.rows, snap.partitions)

# Two more days arrive; the snapshot still reads exactly what it held.
later = frame.assign(timestamp=frame["timestamp"] + pd.Timedelta(days=2))
print(lake.ingest("prices", later, origin="notebook").summary())
print(len(lake.read("prices")), len(lake.read("prices", snapshot=snap.id)))
print(lake.query("SELECT count(*) AS n, max(price) AS top FROM prices"))

# A day of impossible prices is quarantined, not published.
bad = frame.head(24).assign(timestamp=hours[:24] + pd.Timedelta(days=4), price=9999.0)
result = lake.ingest("prices", bad, origin="bad.csv")
print(result.ok, result.quarantined[0].id)
print(result.quarantined[0].reason)
