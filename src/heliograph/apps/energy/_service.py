"""The price-forecast service: "prices for market GB over the next 24 hours, as of now".

``POST /v1/services/price-forecast/predict`` with ``{"market": "GB", "horizon_hours": 24}``
(and optionally ``"as_of"``) answers every period after ``as_of`` within the horizon with
P10/P50/P90 from the champion of ``energy-price-GB``, computed by the same feature view as in
training, as of the request's time.

>>> create_app(project, [PriceForecast()])
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field, TypeAdapter

from heliograph.core import as_utc
from heliograph.gateway import Service, ServiceContext, ServiceError
from heliograph.lake import open_lake

from ._features import PriceFeatures
from ._train import model_name

__all__ = ["PriceForecast", "PricePoint", "PriceRequest", "PriceResponse"]

_LOOKBACK = timedelta(days=9)  # the feature view reaches back 7 days (+ yesterday's stats)
_CACHE_SECONDS = 5.0
_AS_OF = TypeAdapter(datetime)  # serialises as_of exactly as PriceResponse does


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
    forecasts: list[PricePoint]


class PriceForecast(Service):
    """Half-hourly (or hourly, as the market's data) P10/P50/P90 prices from ``as_of``."""

    name = "price-forecast"
    description = "Price forecast for a market: P10/P50/P90 per period after as_of"
    Request: ClassVar[type[BaseModel]] = PriceRequest
    Response: ClassVar[type[BaseModel]] = PriceResponse
    view = PriceFeatures()

    def models(self, context: ServiceContext) -> list[str]:
        cached = context.cache.get("energy_models")
        if cached and cached[0] > time.monotonic() - _CACHE_SECONDS:
            return list(cached[1])
        names = context.registry_models("energy-price-")
        context.cache["energy_models"] = (time.monotonic(), names)
        return names

    def model_for(self, request: Any) -> str:
        return model_name(request.market)

    def _recent(self, context: ServiceContext, as_of: datetime) -> dict[str, Any]:
        """The last days of the inputs (``["data"]``), read once and reused while the lake is
        unchanged; each read is a new ``["generation"]``."""
        cached = context.cache.get("energy_recent")
        if cached is not None and cached["checked"] <= time.monotonic() - _CACHE_SECONDS:
            lake = open_lake(context.project)
            if tuple(len(lake.files(n)) for n in self.view.datasets) != cached["version"]:
                cached = None  # new partition files: read again
            else:
                cached["checked"] = time.monotonic()
        if cached is not None and cached["since"] <= as_of - _LOOKBACK:
            return cached
        lake = open_lake(context.project)
        since = min(as_of, context.clock.now()) - _LOOKBACK
        data = {
            name: lake.read(name, where=f"timestamp >= '{since.isoformat()}'")
            for name in self.view.datasets
        }
        # Every read is a new generation: the caches below key on it, never on id(data),
        # which a later dict may reuse.
        generation = context.cache.get("energy_generation", 0) + 1
        context.cache["energy_generation"] = generation
        cached = {
            "data": data,
            "generation": generation,
            "since": since,
            "checked": time.monotonic(),
            "version": tuple(len(lake.files(n)) for n in self.view.datasets),
        }
        context.cache["energy_recent"] = cached
        return cached

    def _key(
        self, context: ServiceContext, request: Any, as_of: datetime, recent: dict[str, Any]
    ) -> tuple[Any, ...]:
        """What the feature rows depend on: the data read, the market, the targets and which
        rows were known at ``as_of``. Requests that agree on it share one computation."""
        step = self._step(context, recent, request.market)
        first = pd.Timestamp(as_of).floor(step) + step
        stamp = np.datetime64(pd.Timestamp(as_of).tz_convert(None).to_datetime64(), "us")
        known = tuple(
            int(np.searchsorted(times, stamp, side="right"))
            for times in self._known_times(context, recent)
        )
        return (recent["generation"], request.market, request.horizon_hours, first, known)

    def answer_key(self, context: ServiceContext, request: Any) -> Any:
        """The features' key: equal keys, equal answers but for the ``as_of`` they echo,
        which :meth:`restamp` rewrites (see ``Service``). So "as of now", asked again and
        again, is answered from memory until a new period starts or new data is known.

        Only from data already read and checked against the lake in the last seconds
        (``None`` otherwise: the request then goes through ``features``, which reads).
        """
        cached = context.cache.get("energy_recent")
        as_of = as_utc(request.as_of) if request.as_of else context.clock.now()
        if (
            cached is None
            or cached["checked"] <= time.monotonic() - _CACHE_SECONDS
            or cached["since"] > as_of - _LOOKBACK
            or (cached["generation"], request.market) not in context.cache.get("energy_steps", {})
        ):
            return None
        return self._key(context, request, as_of, cached)

    def restamp(
        self, context: ServiceContext, request: Any, body: bytes, as_of: datetime
    ) -> tuple[bytes, datetime]:
        """The remembered response with the request's ``as_of`` in place of its own."""
        wanted = as_utc(request.as_of) if request.as_of else context.clock.now()
        if wanted == as_of:
            return body, as_of
        old, new = (b'"as_of":' + _AS_OF.dump_json(t) for t in (as_of, wanted))
        return body.replace(old, new, 1), wanted

    def features(self, context: ServiceContext, request: Any) -> tuple[pd.DataFrame, datetime]:
        # One computation at a time: requests that arrive together (a cold start, a new
        # period) mostly want the same rows, and under the GIL parallel copies of one pandas
        # computation only make each of them slower. The first computes; the rest find it.
        with context.cache.setdefault("energy_lock", threading.Lock()):
            return self._features(context, request)

    def _features(self, context: ServiceContext, request: Any) -> tuple[pd.DataFrame, datetime]:
        as_of = as_utc(request.as_of) if request.as_of else context.clock.now()
        recent = self._recent(context, as_of)
        data = recent["data"]
        key = self._key(context, request, as_of, recent)
        memo = context.cache.setdefault("energy_features", {})
        if key in memo:
            rows = memo[key].copy()
            rows["as_of"] = pd.Timestamp(as_of).tz_convert("UTC")
            rows["as_of"] = rows["as_of"].astype("datetime64[us, UTC]")
            return rows, as_of
        step = self._step(context, recent, request.market)
        count = int(pd.Timedelta(hours=request.horizon_hours) / step)
        stamps = pd.date_range(key[3], periods=count, freq=step)
        requests = pd.DataFrame(
            {"market": request.market, "timestamp": stamps, "as_of": pd.Timestamp(as_of)}
        )
        requests["timestamp"] = requests["timestamp"].astype("datetime64[us, UTC]")
        requests["as_of"] = requests["as_of"].astype("datetime64[us, UTC]")
        visible = {name: frame[frame["available_at"] <= as_of] for name, frame in data.items()}
        rows = self.view.compute(visible, requests)
        if len(memo) > 1024:
            memo.clear()
        memo[key] = rows
        return rows.copy(), as_of

    def _step(self, context: ServiceContext, recent: dict[str, Any], market: str) -> pd.Timedelta:
        """The market's period length, from its recent prices (cached with the data)."""
        steps = context.cache.setdefault("energy_steps", {})
        key = (recent["generation"], market)
        if key not in steps:
            prices = recent["data"]["energy_prices"]
            stamps = prices.loc[prices["market"] == market, "timestamp"]
            if stamps.empty:
                raise ServiceError(
                    f"no recent prices for market {market}",
                    status=404,
                    field="market",
                    rule="a market with data in the lake",
                )
            step = stamps.sort_values().diff().median()
            steps[key] = step if pd.notna(step) else pd.Timedelta(minutes=30)
        return steps[key]

    def _known_times(self, context: ServiceContext, recent: dict[str, Any]) -> list[np.ndarray]:
        """Each input's availability times, sorted (cached with the data)."""
        generation, data = recent["generation"], recent["data"]
        cached = context.cache.get("energy_known")
        if cached is None or cached[0] != generation:
            times = [
                np.sort(frame["available_at"].to_numpy(dtype="datetime64[us]"))
                for frame in data.values()
            ]
            cached = (generation, times)
            context.cache["energy_known"] = cached
        return cached[1]

    def respond(
        self, request: Any, rows: pd.DataFrame, outputs: pd.DataFrame, version: str
    ) -> BaseModel:
        points = [
            PricePoint(timestamp=t, p10=a, p50=b, p90=c)
            for t, a, b, c in zip(
                rows["timestamp"], outputs["p10"], outputs["p50"], outputs["p90"], strict=True
            )
        ]
        return PriceResponse(
            market=request.market,
            as_of=rows["as_of"].iloc[0],
            model=model_name(request.market),
            version=version,
            forecasts=points,
        )
