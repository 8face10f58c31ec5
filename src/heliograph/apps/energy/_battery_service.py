"""The battery-schedule service: the champion's price forecast turned into the trader's decision.

``POST /v1/services/battery-schedule/predict`` with ``{"market": "GB"}`` (and optionally
``"as_of"``, ``"horizon_hours"``) answers, for the battery of ``[apps.energy.battery]``
(``Battery``: capacity, power, round-trip efficiency, initial state of charge), the
charge/discharge schedule over every period after ``as_of`` within the horizon that earns most
at the *expected* prices, its expected value, and the P10-P90 spread of that value over price
scenarios drawn from the forecast's P10/P50/P90 (``price_scenarios``). The forecast is the
price-forecast service's: the same model (``energy-price-<MARKET>``), the same features.

The schedule is ledgered like every prediction: each period's P10/P50/P90 with its
``charge_mw``, ``discharge_mw``, ``net_mw`` and ``soc_mwh``, so once the prices are known the
``monitor`` job reports the value the schedule realised (``realised_battery_value``). On a
schedule, the ``predict`` job asks once a day, at 10:00 UTC (``DECISION_TIME``, when the
price models forecast the next day), for the next UTC day: the day-ahead commitment.

Example::

    create_app(project, [PriceForecast(), BatterySchedule()])
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from heliograph.core import ConfigError
from heliograph.serving import (
    FreshnessReport,
    LoadedModel,
    ServiceAnswer,
    ServiceContext,
    ServiceError,
    ServiceFeatures,
)

from ._actuals import BATTERY_SERVICE
from ._battery import Battery, battery_settings, dispatch, price_scenarios, value_spread
from ._features import ORIGIN_HOUR
from ._service import PriceForecast, PriceRequest
from ._train import model_name

__all__ = [
    "DECISION_TIME",
    "BatteryRequest",
    "BatteryResponse",
    "BatterySchedule",
    "SchedulePoint",
]

DECISION_TIME = time(ORIGIN_HOUR, 0)
"""When (UTC) the ``predict`` job asks for the next day's schedule: when the price models
forecast day D (``ORIGIN_HOUR`` on D-1), before the day-ahead auction clears."""
_LEVELS = {0.1: "p10", 0.5: "p50", 0.9: "p90"}
SCHEDULE_COLUMNS = ("charge_mw", "discharge_mw", "net_mw", "soc_mwh")
_POINT_COLUMNS = (*SCHEDULE_COLUMNS, *_LEVELS.values())


class BatteryRequest(PriceRequest):
    """The market, the moment (default: now) and what to schedule: the periods of the hours
    ahead, or (``day``) exactly the periods of one UTC day after ``as_of``'s."""

    day: date | None = Field(
        default=None,
        description="Schedule exactly this UTC day (after as_of's day, within 48 h of as_of); "
        "horizon_hours is then ignored.",
    )


class SchedulePoint(BaseModel):
    timestamp: datetime
    charge_mw: float = Field(description="Power drawn from the grid in the period.")
    discharge_mw: float = Field(description="Power delivered to the grid in the period.")
    net_mw: float = Field(description="discharge_mw - charge_mw: what the grid receives.")
    soc_mwh: float = Field(description="Energy stored at the end of the period.")
    p10: float
    p50: float
    p90: float


class BatteryResponse(BaseModel):
    market: str
    as_of: datetime
    model: str
    version: str
    source: str = Field(description="Where the forecast's features came from: online or lake.")
    battery: Battery
    period_hours: float
    expected_value: float = Field(
        description="€: the schedule's mean value over the price scenarios."
    )
    value_p10: float = Field(description="€: 10 % of the scenarios earn less than this.")
    value_p50: float
    value_p90: float = Field(description="€: 10 % of the scenarios earn more than this.")
    schedule: list[SchedulePoint]
    freshness: FreshnessReport  # last: a remembered answer's ages are rewritten in place


def _period_hours(stamps: pd.Series, as_of: datetime) -> float:
    times = pd.to_datetime(stamps, utc=True)
    if len(times) >= 2:
        return float(np.median(np.diff(times.to_numpy())) / np.timedelta64(1, "h"))
    return (times.iloc[0] - pd.Timestamp(as_of)).total_seconds() / 3600


def _scenarios(outputs: pd.DataFrame) -> np.ndarray:
    return price_scenarios({q: outputs[c].to_numpy(dtype=float) for q, c in _LEVELS.items()})


class BatterySchedule(PriceForecast):
    """A configured battery's charge/discharge schedule on the champion's price forecast.

    ``battery`` fixes the battery (tests, notebooks); otherwise it is read from the project's
    ``[apps.energy.battery]`` at each answer, and a bad value refuses the request (503) naming
    the key and its rule.
    """

    name = BATTERY_SERVICE
    description = "Charge/discharge schedule for the configured battery, its value and spread"
    Request: ClassVar[type[BaseModel]] = BatteryRequest
    Response: ClassVar[type[BaseModel]] = BatteryResponse
    #: Asked once a day, at DECISION_TIME: quiet for a day is normal, a day and two hours is not.
    max_silence: ClassVar[timedelta | None] = timedelta(hours=26)

    def __init__(self, battery: Battery | None = None) -> None:
        self.battery = battery

    def battery_for(self, context: ServiceContext) -> Battery:
        if self.battery is not None:
            return self.battery
        try:
            return battery_settings(context.project.settings.apps)
        except ConfigError as exc:
            raise ServiceError(
                f"the battery is misconfigured: {exc.headline}",
                status=503,
                field=exc.field,
                rule=exc.rule,
                hint="fix [apps.energy.battery] in helio.toml",
            ) from None

    def features(self, context: ServiceContext, request: Any) -> ServiceFeatures:
        """The price service's features; for a ``day``, exactly that day's periods."""
        if request.day is None:
            return super().features(context, request)
        as_of = self.as_of(context, request)
        begins = datetime.combine(request.day, time(0), tzinfo=UTC)
        ahead = begins - as_of  # not begins + 1 day: date.max has none after it
        if ahead <= timedelta(0) or ahead > timedelta(hours=24):  # the day ends within 48 h
            raise ServiceError(
                f"day {request.day} cannot be scheduled as of {as_of:%Y-%m-%d %H:%M} UTC",
                status=422,
                field="day",
                rule="a UTC day after as_of's day, ending within 48 h of as_of",
            )
        hours = (ahead + timedelta(days=1)).total_seconds() / 3600
        asked = request.model_copy(update={"as_of": as_of, "horizon_hours": math.ceil(hours)})
        found = super().features(context, asked)
        stamps = pd.to_datetime(found.rows["timestamp"], utc=True)
        inside = ((stamps >= begins) & (stamps < begins + timedelta(days=1))).to_numpy()
        return dataclasses.replace(found, rows=found.rows.loc[inside].reset_index(drop=True))

    def answer(
        self,
        context: ServiceContext,
        request: Any,
        model: LoadedModel,
        features: ServiceFeatures | None = None,
    ) -> ServiceAnswer:
        """The forecast (as the price service answers it), then the schedule on it."""
        battery = self.battery_for(context)
        features = features or self.features(context, request)
        inputs = model.inputs(features.rows)
        forecast = model.predict_cached(inputs)
        if forecast.empty:
            raise ServiceError(
                "no period to schedule", status=422, field="horizon_hours",
                rule="a horizon (or day) with at least one period after as_of",
            )  # fmt: skip
        hours = _period_hours(features.rows["timestamp"], features.as_of)
        try:
            plan = dispatch(_scenarios(forecast).mean(axis=0), battery, hours)
        except ValueError as exc:  # a forecast with no number for some period
            raise ServiceError(
                f"no schedule can be made on this forecast: {exc}", status=503,
                field="forecast", rule="a finite P10/P50/P90 for every period",
            ) from None  # fmt: skip
        outputs = forecast.assign(
            charge_mw=plan.charge_mw,
            discharge_mw=plan.discharge_mw,
            net_mw=plan.net_mw,
            soc_mwh=plan.soc_mwh,
        )
        response = self._respond(request, features, outputs, model.version, battery, hours)
        return ServiceAnswer(response, features, inputs, outputs, model.version)

    def respond(
        self, request: Any, features: ServiceFeatures, outputs: pd.DataFrame, version: str
    ) -> BaseModel:
        battery = self.battery or Battery()
        hours = _period_hours(features.rows["timestamp"], features.as_of)
        return self._respond(request, features, outputs, version, battery, hours)

    def _respond(
        self,
        request: Any,
        features: ServiceFeatures,
        outputs: pd.DataFrame,
        version: str,
        battery: Battery,
        hours: float,
    ) -> BaseModel:
        net = outputs["net_mw"].to_numpy(dtype=float)
        values = _scenarios(outputs) @ net * hours
        spread = value_spread(values)
        points = [
            SchedulePoint(timestamp=t, **{c: float(row[c]) for c in _POINT_COLUMNS})
            for t, (_, row) in zip(features.rows["timestamp"], outputs.iterrows(), strict=True)
        ]
        return BatteryResponse(
            market=request.market,
            as_of=features.as_of,
            model=model_name(request.market),
            version=version,
            source=features.source,
            battery=battery,
            period_hours=hours,
            expected_value=spread["expected"],
            value_p10=spread["p10"],
            value_p50=spread["p50"],
            value_p90=spread["p90"],
            schedule=points,
            freshness=features.freshness,
        )

    def scheduled(self, context: ServiceContext, now: datetime) -> Sequence[BaseModel]:
        """At ``DECISION_TIME`` (UTC): each market's schedule for the next UTC day."""
        if now.time() != DECISION_TIME:
            return []
        day = (now + timedelta(days=1)).date()
        markets = sorted(name.removeprefix(model_name("")) for name in self.models(context))
        return [BatteryRequest(market=m, as_of=now, day=day) for m in markets]
