import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, Field

from heliograph.apps.energy import ONLINE_PRICE_FEATURES
from heliograph.core import FixedClock, init_project, load_app
from heliograph.jobs import ingest
from heliograph.serving import FreshnessReport, LoadedModel, Service, ServiceContext


class PriceRequest(BaseModel):
    market: str = Field(pattern=r"^[A-Z][A-Z0-9]{1,7}$")
    as_of: datetime | None = None                  # omitted: now, on the project's clock
    horizon_hours: int = Field(default=24, ge=1, le=48)

class PricePoint(BaseModel):
    timestamp: datetime
    p50: float

class PriceResponse(BaseModel):
    market: str
    as_of: datetime
    version: str
    source: str                                    # "online" (the store) or "lake"
    forecasts: list[PricePoint]
    freshness: FreshnessReport                     # last: restamped in place

class PriceForecast(Service):
    name = "price-forecast"
    Request, Response = PriceRequest, PriceResponse
    online = ONLINE_PRICE_FEATURES                 # the feature view, from the online store

    def models(self, context):                     # the registered models to follow
        return context.registry_models("energy-price-")

    def model_for(self, request):                  # which one answers this request
        return f"energy-price-{request.market}"

    def entity(self, request):                     # the online view's entity
        return request.market

    def horizon(self, request):                    # targets in (as_of, as_of + horizon]
        return timedelta(hours=request.horizon_hours)

    def respond(self, request, features, outputs, version):
        points = [PricePoint(timestamp=t, p50=p)
                  for t, p in zip(features.rows["timestamp"], outputs["p50"], strict=True)]
        return PriceResponse(market=request.market, as_of=features.as_of, version=version,
                             source=features.source, forecasts=points,
                             freshness=features.freshness)

    def scheduled(self, context, now):             # what the predict job asks every 30 min
        return [PriceRequest(market=m, as_of=now) for m in ("GB",)]


# A project with three weeks of simulated prices, ingested (which materialises the store).
now = datetime(2025, 1, 22, 12, tzinfo=UTC)
config = load_app("energy").config.replace('start = "2024-01-01"', 'start = "2025-01-01"')
config = config.replace('markets = ["GB", "DE", "FR"]', 'markets = ["GB"]')
project = init_project(Path(tempfile.mkdtemp()) / "demo", extra=config).with_clock(FixedClock(now))
ingest(project)

class Yesterday:                                   # stands in for a registered model
    def predict(self, rows):
        return pd.DataFrame({"p50": rows["price_lag_1d"]})

model = LoadedModel("energy-price-GB", "1", "", now, Yesterday(), None, ["price_lag_1d"])
context = ServiceContext.open(project)
service = PriceForecast()
for request in service.scheduled(context, now):    # in process, as the predict job does
    answer = service.answer(context, request, model)
    print(answer.response.source, len(answer.response.forecasts), answer.features.reason or "-")
older = service.answer(context, PriceRequest(market="GB", as_of=now - timedelta(days=5)), model)
print(older.response.source, older.features.reason)
