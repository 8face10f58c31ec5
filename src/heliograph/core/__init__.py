"""Config, clock, errors, logging, paths, atomic writes: what every other part stands on."""

from __future__ import annotations

from ._apps import App, load_app, load_apps
from ._atomic import atomic_move, atomic_write
from ._clock import Clock, FixedClock, RealClock, ReplayClock, as_utc
from ._config import (
    CONFIG_FILE,
    ENV_PREFIX,
    ClockSettings,
    ComputeSettings,
    DashboardSettings,
    DatasetSettings,
    GatewaySettings,
    LakeSettings,
    LedgerSettings,
    MonitoringSettings,
    OnlineStoreSettings,
    PolicySettings,
    ProjectSettings,
    SchedulerSettings,
    Settings,
    SourceSettings,
    TrackingSettings,
    env_overrides,
    load_settings,
)
from ._duck import duck_connect, duck_frame
from ._errors import (
    CheckError,
    ConfigError,
    DataError,
    HelioError,
    LakeError,
    SnapshotError,
    SourceError,
    UnknownDatasetError,
    UsageError,
)
from ._logging import configure_logging, get_logger
from ._progress import progress_enabled, track
from ._project import CONFIG_TEMPLATE, PROJECT_ENV, Project, init_project

__all__ = [
    "CONFIG_FILE",
    "CONFIG_TEMPLATE",
    "ENV_PREFIX",
    "PROJECT_ENV",
    "App",
    "CheckError",
    "Clock",
    "ClockSettings",
    "ComputeSettings",
    "ConfigError",
    "DashboardSettings",
    "DataError",
    "DatasetSettings",
    "FixedClock",
    "GatewaySettings",
    "HelioError",
    "LakeError",
    "LakeSettings",
    "LedgerSettings",
    "MonitoringSettings",
    "OnlineStoreSettings",
    "PolicySettings",
    "Project",
    "ProjectSettings",
    "RealClock",
    "ReplayClock",
    "SchedulerSettings",
    "Settings",
    "SnapshotError",
    "SourceError",
    "SourceSettings",
    "TrackingSettings",
    "UnknownDatasetError",
    "UsageError",
    "as_utc",
    "atomic_move",
    "atomic_write",
    "configure_logging",
    "duck_connect",
    "duck_frame",
    "env_overrides",
    "get_logger",
    "init_project",
    "load_app",
    "load_apps",
    "load_settings",
    "progress_enabled",
    "track",
]
