from heliograph.core import Project
from heliograph.lake import list_snapshots, open_lake

lake = open_lake(Project.load("demo"))
snap = list_snapshots(lake, "energy_prices")[-1]
gb = lake.read("energy_prices", snapshot=snap.id, columns=["timestamp", "price"], where="market = 'GB'")
