"""The price-forecast service: "prices for market GB over the next 24 hours, as of now".

``POST /v1/services/price-forecast/predict`` with ``{"market": "GB", "horizon_hours": 24}``
(and optionally ``"as_of"``) answers every period after ``as_of`` within the horizon with
P10/P50/P90 from the champion of ``energy-price-GB``, computed by the same feature view as in
training, as of the request's time. The response ends with ``freshness``: how old the newest
price and driver forecast were at ``as_of``, and which features had no value. What is generic
(an ``as_of`` after now or before any input, inputs older than ``[gateway]
max_input_age_hours``) is the ``Service`` base class's; this module supplies the domain: the
market is the entity, the feature view's inputs are the datasets.

Example::

    create_app(project, [PriceForecast()])
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from heliograph.features import freshness, input_times
from heliograph.gateway import FreshnessReport, Service, ServiceContext, ServiceError
from heliograph.lake import open_lake

from ._features import PriceFeatures, feature_columns
from ._train import model_name

__all__ = ["PriceForecast", "PricePoint", "PriceRequest", "PriceResponse"]

_LOOKBACK = timedelta(days=9)  # the feature view reaches back 7 days (+ yesterday's stats)
_CACHE_SECONDS = 5.0


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
    freshness: FreshnessReport  # last: a remembered answer's ages are rewritten in place


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

    def _lake(self, context: ServiceContext) -> dict[str, Any]:
        """The lake's state (``["version"]``: its partition files), looked at every few
        seconds, and what is read of the whole lake once per state (see ``_inputs``)."""
        cached = context.cache.get("energy_inputs")
        if cached is not None and cached["checked"] > time.monotonic() - _CACHE_SECONDS:
            return cached
        lake = open_lake(context.project)
        version = tuple(len(lake.files(n)) for n in self.view.datasets)
        if cached is None or cached["version"] != version:
            cached = self._inputs(lake, version)
        cached["checked"] = time.monotonic()
        context.cache["energy_inputs"] = cached
        return cached

    def _recent(self, context: ServiceContext, as_of: datetime) -> dict[str, Any]:
        """The last days of the inputs (``["data"]``), read once and reused while the lake is
        unchanged; each read is a new ``["generation"]``."""
        version = self._lake(context)["version"]
        cached = context.cache.get("energy_recent")
        if (
            cached is not None
            and cached["version"] == version
            and cached["since"] <= as_of - _LOOKBACK
        ):
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
        cached = {"data": data, "generation": generation, "since": since, "version": version}
        context.cache["energy_recent"] = cached
        return cached

    def _inputs(self, lake: Any, version: tuple[int, ...]) -> dict[str, Any]:
        """From the whole lake, not the window read for serving (so that no answer depends on
        what was asked before): when each input became known, and each market's period."""
        steps = lake.query(
            "SELECT market, median(d) AS step FROM (SELECT market, epoch(timestamp)"
            " - epoch(lag(timestamp) OVER (PARTITION BY market ORDER BY timestamp)) AS d"
            " FROM energy_prices) WHERE d > 0 GROUP BY market"
        )
        return {
            "version": version,
            "times": input_times(lake, self.view, on="market"),
            "steps": {
                market: pd.Timedelta(seconds=float(step))
                for market, step in zip(steps["market"], steps["step"], strict=True)
            },
        }

    def _key(
        self, context: ServiceContext, request: Any, as_of: datetime, recent: dict[str, Any]
    ) -> tuple[Any, ...]:
        """What the feature rows depend on: the data read, the market, the targets and which
        rows were known at ``as_of``. Requests that agree on it share one computation."""
        step = self._step(context, request.market)
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
        as_of = self.as_of(context, request)  # an as_of after now is refused here already
        cached = context.cache.get("energy_recent")
        lake = context.cache.get("energy_inputs")
        if (
            cached is None
            or lake is None
            or lake["checked"] <= time.monotonic() - _CACHE_SECONDS
            or cached["version"] != lake["version"]
            or cached["since"] > as_of - _LOOKBACK
            or request.market not in lake["steps"]
        ):
            return None
        return self._key(context, request, as_of, cached)

    def features(self, context: ServiceContext, request: Any) -> tuple[pd.DataFrame, datetime]:
        # One computation at a time: requests that arrive together (a cold start, a new
        # period) mostly want the same rows, and under the GIL parallel copies of one pandas
        # computation only make each of them slower. The first computes; the rest find it.
        with context.cache.setdefault("energy_lock", threading.Lock()):
            return self._features(context, request)

    def _features(self, context: ServiceContext, request: Any) -> tuple[pd.DataFrame, datetime]:
        as_of = self.as_of(context, request)
        state = freshness(self._lake(context)["times"], {"market": request.market}, as_of)
        self.vouch(context, state)  # refused before the lake is read for it
        recent = self._recent(context, as_of)
        rows = self._rows(context, request, as_of, recent)
        report = self.vouch(context, state.with_missing(rows, feature_columns(rows)))
        rows.attrs["freshness"] = report  # for respond; not a feature
        return rows, as_of

    def _rows(
        self, context: ServiceContext, request: Any, as_of: datetime, recent: dict[str, Any]
    ) -> pd.DataFrame:
        data = recent["data"]
        key = self._key(context, request, as_of, recent)
        memo = context.cache.setdefault("energy_features", {})
        if key in memo:
            rows = memo[key].copy()
            rows["as_of"] = pd.Timestamp(as_of).tz_convert("UTC")
            rows["as_of"] = rows["as_of"].astype("datetime64[us, UTC]")
            return rows
        step = self._step(context, request.market)
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
        return rows.copy()

    def _step(self, context: ServiceContext, market: str) -> pd.Timedelta:
        """The market's period length, from all its prices (read once per lake change)."""
        step = context.cache["energy_inputs"]["steps"].get(market)
        if step is None:
            raise ServiceError(
                f"no prices for market {market} in the lake",
                status=404,
                field="market",
                rule="a market with data in the lake",
            )
        return step

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
            freshness=rows.attrs["freshness"],
        )
