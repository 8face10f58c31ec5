import pandas as pd

from heliograph.apps.energy import PriceFeatures, forecast_requests
from heliograph.core import Project
from heliograph.features import compute_offline, compute_online
from heliograph.lake import open_lake

lake = open_lake(Project.find())
requests = forecast_requests(["GB"], pd.date_range("2025-05-20", "2025-05-21"), "30min")
snapshots = {"energy_prices": "energy_prices@76f1e880457b",
             "energy_forecasts": "energy_forecasts@02cffb81a550"}
train = compute_offline(lake, PriceFeatures(), requests, snapshots=snapshots)
live = compute_online(lake, PriceFeatures(), forecast_requests(["GB"], ["2025-06-02"]))
