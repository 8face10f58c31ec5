import pandas as pd

from heliograph.apps.energy import PriceFeatures, forecast_requests
from heliograph.core import Project
from heliograph.features import compute_online
from heliograph.lake import open_lake
from heliograph.serving import ModelStore, RegistryFollower

project = Project.load("demo")
tomorrow = pd.Timestamp(project.clock().now()).normalize() + pd.Timedelta(days=1)
rows = compute_online(open_lake(project), PriceFeatures(), forecast_requests(["GB"], [tomorrow]))

store = ModelStore()
RegistryFollower(project, store, ["energy-price-GB"]).sync()   # or .start() to keep following
champion = store.get("energy-price-GB", "champion")
forecast = champion.predict_cached(champion.inputs(rows))      # P10/P50/P90 per period
print(f"version {champion.version}: {len(forecast)} periods, columns {list(forecast.columns)}")
