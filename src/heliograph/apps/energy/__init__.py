"""Electricity price forecasting: the first reference system, built on heliograph's public API.

Data: a seeded market simulator (``energy-simulator`` source) and loaders for real public
formats: the EPF benchmark CSVs (format ``epf``) and a generic long format (format
``energy-long``). Three datasets: ``energy_prices``, ``energy_forecasts`` (day-ahead forecasts
of the drivers) and ``energy_actuals``. Each row carries ``available_at``, the moment it became
known, so a replayed clock releases it only then.

Example::

    frames = simulate(["GB", "DE", "FR"], "2024-01-01", "2025-12-31", seed=7)
    frames["energy_prices"].head()
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from heliograph.core import App, ConfigError, track
from heliograph.lake import ReplaySource

from ._actuals import BATTERY_SERVICE, PRICE_SERVICE, read_price_actuals
from ._battery import (
    Battery,
    Dispatch,
    battery_settings,
    battery_value,
    dispatch,
    price_scenarios,
    schedule_day,
    value_spread,
)
from ._blend import Blend, combine
from ._business import battery_capture, realised_battery_value
from ._catalogue import make_model
from ._cli import results_table, train_energy
from ._features import (
    FEATURE_IDS,
    ONLINE_PRICE_FEATURES,
    ORIGIN_HOUR,
    PriceFeatures,
    feature_columns,
    forecast_requests,
)
from ._formats import read_epf, read_long
from ._lear import LEAR_WINDOWS, Lear
from ._price_model import MODEL_NAMES, PREDICTION_COLUMNS, QUANTILES, PriceModel
from ._quantile_gbm import QuantileGBM
from ._seasonal_naive import SeasonalNaive
from ._simulator import DEFAULT_SHIFTS, RegimeShift, simulate
from ._train import markets, model_name, price_pipeline, train_market

__all__ = [
    "BATTERY_SERVICE",
    "CALENDAR_FEATURES",
    "DEFAULT_SHIFTS",
    "DRIFT_THRESHOLDS",
    "FEATURE_IDS",
    "FIRST_MODELS",
    "LEAR_WINDOWS",
    "MODEL_NAMES",
    "ONLINE_PRICE_FEATURES",
    "ORIGIN_HOUR",
    "PREDICTION_COLUMNS",
    "PRICE_SERVICE",
    "QUANTILES",
    "RETRAIN_BACKTEST_DAYS",
    "RETRAIN_MODELS",
    "WATCHED_FEATURES",
    "Battery",
    "Blend",
    "Dispatch",
    "Lear",
    "PriceFeatures",
    "PriceModel",
    "QuantileGBM",
    "RegimeShift",
    "SeasonalNaive",
    "app",
    "battery_capture",
    "battery_settings",
    "battery_value",
    "combine",
    "dispatch",
    "feature_columns",
    "forecast_requests",
    "make_model",
    "make_simulator_source",
    "markets",
    "model_name",
    "price_pipeline",
    "price_scenarios",
    "read_epf",
    "read_long",
    "read_price_actuals",
    "realised_battery_value",
    "results_table",
    "schedule_day",
    "simulate",
    "train_energy",
    "train_market",
    "value_spread",
]

# Imported only when needed: they pull in MLflow (_pyfunc) or the gateway's FastAPI (_service).
LAZY = ("_battery_service", "_pyfunc", "_service")

_SIMULATOR_OPTIONS = {"markets", "start", "end", "seed", "freq", "shifts"}


def make_simulator_source(name: str, options: Mapping[str, Any], state_path: Path) -> ReplaySource:
    """The ``energy-simulator`` source: simulated history, released as the clock passes it."""
    unknown = sorted(set(options) - _SIMULATOR_OPTIONS)
    if unknown:
        raise ConfigError(
            f"source {name}: unknown option {unknown[0]!r}",
            field=f"sources.{name}.options.{unknown[0]}",
            rule="one of " + ", ".join(sorted(_SIMULATOR_OPTIONS)),
        )
    shifts = None
    if "shifts" in options:
        try:
            shifts = [
                RegimeShift(**{**s, "markets": tuple(s["markets"]) if s.get("markets") else None})
                for s in options["shifts"]
            ]
        except (TypeError, KeyError, ValueError) as exc:
            raise ConfigError(
                f"source {name}: bad regime shift: {exc}",
                field=f"sources.{name}.options.shifts",
                rule="tables with at, kind (demand|fuel), factor, markets",
            ) from None
    markets = options.get("markets", ["GB", "DE", "FR"])
    if (
        not isinstance(markets, list | tuple)
        or not markets
        or not all(isinstance(m, str) and m.strip() for m in markets)
    ):
        raise ConfigError(
            f"source {name}: markets must be a list of market names, not {markets!r}",
            field=f"sources.{name}.options.markets",
            rule='a non-empty list of market names, e.g. markets = ["GB"]',
        )
    markets = list(markets)
    seed, freq = int(options.get("seed", 7)), str(options.get("freq", "30min"))

    def load() -> Mapping[str, Any]:
        bar = iter(track(range(len(markets)), f"simulating {len(markets)} markets"))
        next(bar, None)

        def advance(_done: int) -> None:
            next(bar, None)

        try:
            return simulate(
                markets,
                str(options.get("start", "2024-01-01")),
                str(options.get("end", "2025-12-31")),
                progress=advance,
                seed=seed,
                freq=freq,
                shifts=shifts,
            )
        except ValueError as exc:
            raise ConfigError(f"source {name}: {exc}", field=f"sources.{name}.options") from None

    return ReplaySource(name, load, available_column="available_at", state_path=state_path)


_CONFIG = """
# --- energy reference system: day-ahead electricity prices ------------------------------
[datasets.energy_prices]
key = ["market", "timestamp"]
time_column = "timestamp"

[datasets.energy_prices.columns]
market = "string"
timestamp = "timestamp"
price = "double"
available_at = "timestamp"

[[datasets.energy_prices.checks]]
type = "not_null"
column = "price"

[[datasets.energy_prices.checks]]
type = "between"
column = "price"
min = -500
max = 4000
mostly = 0.99

[[datasets.energy_prices.checks]]
type = "row_count"
min = 23  # a day's auction gives every period of the day at once (23 on a DST day)

[[datasets.energy_prices.checks]]
type = "distribution"
column = "price"
reference = "latest"  # the newest snapshot
max_ks = 0.6
severity = "warn"  # a real regime shift moves prices: record it, keep the data

[[datasets.energy_prices.checks]]
type = "freshness"
column = "available_at"
max_age = "2d"

[datasets.energy_forecasts]
key = ["market", "timestamp", "variable"]
time_column = "timestamp"

[datasets.energy_forecasts.columns]
market = "string"
timestamp = "timestamp"
variable = "string"
value = "double"
available_at = "timestamp"

[[datasets.energy_forecasts.checks]]
type = "not_null"
column = "value"

[[datasets.energy_forecasts.checks]]
type = "between"
column = "value"
min = 0
mostly = 0.999

[datasets.energy_actuals]
key = ["market", "timestamp", "variable"]
time_column = "timestamp"

[datasets.energy_actuals.columns]
market = "string"
timestamp = "timestamp"
variable = "string"
value = "double"
available_at = "timestamp"

[[datasets.energy_actuals.checks]]
type = "not_null"
column = "value"
mostly = 0.99

[[datasets.energy_actuals.checks]]
type = "between"
column = "value"
min = 0
mostly = 0.999

[[sources]]
name = "simulator"
type = "energy-simulator"
[sources.options]
markets = ["GB", "DE", "FR"]
start = "2024-01-01"
end = "2025-12-31"
seed = 7
# Regime shifts (kind demand or fuel, a factor, optionally markets = [...]). The third is the
# demo's: the replay starts on 2025-06-01 once a first model serves, and a day later fuel
# costs 1.8 times as much in every market, so the first champion (trained on what came
# before) degrades live (docs/scheduler.md, "The five-minute demo").
shifts = [
    { at = "2025-03-01", kind = "demand", factor = 0.85 },
    { at = "2025-09-01", kind = "fuel", factor = 1.6 },
    { at = "2025-06-02", kind = "fuel", factor = 1.8 },
]

# The battery the battery-schedule service schedules (every key shown with its default):
[apps.energy.battery]
capacity_mwh = 2.0  # the most it stores
power_mw = 1.0  # the most it charges or discharges, at the grid
efficiency = 0.9  # round trip: 1 MWh charged gives back 0.9 MWh
initial_soc = 0.5  # stored at the start of a schedule, a fraction of capacity; kept at the end

# Real data in the EPF benchmark format (timestamp, price, two exogenous forecasts):
# [[sources]]
# name = "epf"
# type = "files"
# [sources.options]
# paths = ["../shared/data/epf/*.csv"]
# format = "epf"
"""


def _services() -> list[Any]:
    from ._battery_service import BatterySchedule
    from ._service import PriceForecast  # imports the gateway (FastAPI): only when serving

    return [PriceForecast(), BatterySchedule()]


def _business_metrics() -> list[Any]:
    from heliograph.monitoring import BusinessMetric

    from ._business import battery_capture, realised_battery_value

    return [
        BusinessMetric("price-forecast", "battery_capture", battery_capture, "maximize"),
        BusinessMetric(BATTERY_SERVICE, "battery_value", realised_battery_value, "maximize"),
    ]


def _actuals() -> list[Any]:
    from heliograph.jobs import ActualsSource

    return [
        ActualsSource(service, read_price_actuals, source="energy_prices")
        for service in (PRICE_SERVICE, BATTERY_SERVICE)
    ]


# What the `retrain` job trains. A market without a champion gets the quick baseline, so that
# a fresh project serves a model within a minute; once it has one, a retrain (weekly, or
# when monitoring alerted about the champion) adds the learned LEAR on a single 56-day window
# (backtested over a week): what a champion is replaced by when live evidence says so. `helio
# train energy` trains every candidate with the long windows.
FIRST_MODELS = ("seasonal_naive",)
RETRAIN_MODELS = ("seasonal_naive", "lear")
RETRAIN_BACKTEST_DAYS = 7


def _retrain_model(name: str) -> Any:
    if name == "lear":
        return make_model("lear", windows=(56,), penalty_days=7)
    return make_model(name)


def _retrain(project: Any, reason: str) -> list[Any]:
    """Every market with prices in the lake, trained on the newest snapshots."""
    from heliograph.lake import open_lake
    from heliograph.registry import CHAMPION, Registry

    registry = Registry(project)
    known = set(registry.models())
    outcomes = []
    for market in markets(open_lake(project)):
        name = model_name(market)
        if name not in known or CHAMPION not in registry.aliases(name):
            outcomes.append(train_market(project, market, models=FIRST_MODELS, reason=reason))
            continue
        outcomes.append(
            train_market(
                project,
                market,
                models=RETRAIN_MODELS,
                backtest_days=RETRAIN_BACKTEST_DAYS,
                make=_retrain_model,
                reason=reason,
            )
        )
    return outcomes


def _online_views() -> list[Any]:
    from ._features import ONLINE_PRICE_FEATURES

    return [ONLINE_PRICE_FEATURES]


# The calendar of a target (its period, hour, weekday, day of year) always differs between a
# day or a week of live questions and a training sample of many weeks: its drift says nothing
# about the market. Nor does that of the day vectors (`price_d1_h08`, `fc_wind_forecast_d7_h13`)
# and of D-1's mean, min and max: one value per delivery day, so a day of questions is one or
# two values against the reference's weeks, "drifted" whatever happens. Nor, in a day's
# window, does the weather: the driver forecasts (wind, solar, demand) of one or two days
# against weeks of them (a demo run: FR's wind forecast KS 0.996 a day before the shift
# reached it). Monitoring watches the market's own prices, lagged, and the predictions: what
# a regime shift moves and the champion answers with.
CALENDAR_FEATURES = ("period", "hour", "dow", "doy", "is_weekend")
WATCHED_FEATURES = ("price_lag_*", "prediction")

# The demo's drift settings, in its helio.toml (measured on the seeded markets, the
# first champion's 56-day reference, a question every 30 minutes; docs/monitoring.md). Over
# a 48-hour window holding at least a day of questions (96 distinct half-hourly rows), the
# lagged prices before the fuel shift reach PSI 11.2, KS 0.87, Wasserstein 2.7 sd; over
# 24 hours, 11.5, 0.94 and 3.07 (the market's own day-to-day level), too near any threshold
# the shift crosses. So nothing alerts before the shift has moved a watched feature.
DRIFT_THRESHOLDS = {
    "psi": 12.0,
    "ks": 0.95,
    "wasserstein": 3.0,
    "drift_window_hours": 48.0,
    "drift_min_values": 96,
}


# The demo runs every job in one scheduler, the retrain too. Replayed fast on two cores, the
# scheduler is busy most of the time (its jobs took 348 s of a 360 s run at 900x), so a retrain in a
# process of its own (the default, right for a real clock) only shares the same cores:
# measured on one machine, one run each, its retrain took 46 s instead of 43, started two
# simulated hours after the alert instead of in the same look, and the promotions came at
# 5.1-5.3 minutes instead of 4.7 (docs/scheduler.md).
DEMO_SCHEDULER: dict[str, Any] = {"separate_jobs": []}

# The simulated markets are replayed: the clock starts on 2025-06-01 and runs 1100x (about
# 18 minutes of market time per real second), so each `helio up` releases what has become
# known since. The speed is what the scheduler keeps up with on two cores: a look (every due
# job) takes ~3-4 s, about an hour of market time, since the monitor reads only the watched
# inputs; at 900x the drift alert came 5.1 minutes after the start, at 1100x 4.3 (measured
# with benchmarks/demo.py, docs/scheduler.md). Much faster, a look would pass more than the
# 6 hours `predict` catches up, and a retrain the champion's whole week of degradation.
app = App(
    name="energy",
    description="day-ahead electricity price forecasting",
    config=_CONFIG,
    clock={"mode": "replay", "start": "2025-06-01T00:00:00Z", "speed": 1100.0},
    commands={"train": train_energy},
    services=_services,
    online_views=_online_views,
    business_metrics=_business_metrics,
    actuals=_actuals,
    retrain=_retrain,
    watched_features={PRICE_SERVICE: WATCHED_FEATURES, BATTERY_SERVICE: WATCHED_FEATURES},
    settings={"monitoring": DRIFT_THRESHOLDS, "scheduler": DEMO_SCHEDULER},
    datasets=("energy_prices", "energy_forecasts", "energy_actuals"),
)
