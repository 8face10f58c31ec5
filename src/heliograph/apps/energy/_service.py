"""The price-forecast service: "prices for market GB over the next 24 hours, as of now".

``POST /v1/services/price-forecast/predict`` with ``{"market": "GB", "horizon_hours": 24}``
(and optionally ``"as_of"``) answers every period after ``as_of`` within the horizon with
P10/P50/P90 from the champion of ``energy-price-GB``. The features are the online store's
(``ONLINE_PRICE_FEATURES``, the same view as in training) or, when the store cannot vouch for
them, computed from the lake: ``source`` says which. The response ends with ``freshness``:
how old the newest price and driver forecast were at ``as_of``, and which features had no
value. Everything generic (the store, refusals, remembering answers, concurrency) is the
platform's; this module is the domain.

Example::

    create_app(project, [PriceForecast()])
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

import pandas as pd
from pydantic import BaseModel, Field

from heliograph.serving import FreshnessReport, Service, ServiceContext, ServiceFeatures

from ._features import ONLINE_PRICE_FEATURES
from ._train import model_name

__all__ = ["PriceForecast", "PricePoint", "PriceRequest", "PriceResponse"]

_PREFIX = model_name("")


class PriceRequest(BaseModel):
    market: str = Field(
        pattern=r"^[A-Z][A-Z0-9]{1,7}$", description="Market code.", examples=["GB"]
    )
    as_of: datetime | None = Field(
        default=None,
        description="When the forecast is made (default: now, on the project's clock).",
    )
    horizon_hours: int = Field(default=24, ge=1, le=48, description="Hours ahead to answer.")


class PricePoint(BaseModel):
    timestamp: datetime
    p10: float
    p50: float
    p90: float


class PriceResponse(BaseModel):
    market: str
    as_of: datetime
    model: str
    version: str
    source: Literal["online", "lake"] = Field(
        description="Where the features came from: the online store, or the lake when the "
        "store could not vouch for them (before its retention, not yet materialised)."
    )
    forecasts: list[PricePoint]
    freshness: FreshnessReport  # last: a remembered answer's ages are rewritten in place


class PriceForecast(Service):
    """Half-hourly (or hourly, as the market's data) P10/P50/P90 prices from ``as_of``."""

    name = "price-forecast"
    description = "Price forecast for a market: P10/P50/P90 per period after as_of"
    Request: ClassVar[type[BaseModel]] = PriceRequest
    Response: ClassVar[type[BaseModel]] = PriceResponse
    online = ONLINE_PRICE_FEATURES

    def models(self, context: ServiceContext) -> list[str]:
        return context.registry_models(_PREFIX)

    def model_for(self, request: Any) -> str:
        return model_name(request.market)

    def entity(self, request: Any) -> str:
        return str(request.market)

    def horizon(self, request: Any) -> timedelta:
        return timedelta(hours=request.horizon_hours)

    def respond(
        self, request: Any, features: ServiceFeatures, outputs: pd.DataFrame, version: str
    ) -> BaseModel:
        points = [
            PricePoint(timestamp=t, p10=a, p50=b, p90=c)
            for t, a, b, c in zip(
                features.rows["timestamp"],
                outputs["p10"],
                outputs["p50"],
                outputs["p90"],
                strict=True,
            )
        ]
        return PriceResponse(
            market=request.market,
            as_of=features.as_of,
            model=model_name(request.market),
            version=version,
            source=features.source,
            forecasts=points,
            freshness=features.freshness,
        )

    def scheduled(self, context: ServiceContext, now: datetime) -> Sequence[BaseModel]:
        """Each market with a registered model: the next 24 hours, as of ``now``."""
        markets = sorted(name.removeprefix(_PREFIX) for name in self.models(context))
        return [PriceRequest(market=m, as_of=now, horizon_hours=24) for m in markets]
