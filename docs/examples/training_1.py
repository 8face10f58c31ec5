import pandas as pd

from heliograph.apps.energy import PriceFeatures, forecast_requests
from heliograph.core import Project
from heliograph.features import compute_offline, compute_online
from heliograph.lake import list_snapshots, open_lake

lake = open_lake(Project.load("demo"))
requests = forecast_requests(["GB"], pd.date_range("2025-05-20", "2025-05-21"), "30min")
snapshots = {name: list_snapshots(lake, name)[-1].id   # e.g. "energy_prices@76f1e880457b"
             for name in ("energy_prices", "energy_forecasts")}
train = compute_offline(lake, PriceFeatures(), requests, snapshots=snapshots)
live = compute_online(lake, PriceFeatures(), forecast_requests(["GB"], ["2025-06-02"]))
print(len(train), "training rows;", len(live), "rows as of", live["as_of"].iloc[0])
