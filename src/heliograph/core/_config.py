"""Project configuration: ``helio.toml``, overridden by ``HELIO_SECTION__KEY`` variables.

A project is a folder with a ``helio.toml``. Every key has a default, so an empty file is a
valid project; ``helio init`` writes the file with every key and its default, documented.
Environment variables override keys: ``HELIO_LEDGER__URL=postgresql://…`` sets ``[ledger] url``
(section and key joined by a double underscore; values are parsed as TOML values where they
parse, and taken as strings otherwise).

Example::

    settings = load_settings(Path("helio.toml"))
    settings.ledger.url
    # ''
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ._errors import ConfigError

__all__ = [
    "CONFIG_FILE",
    "ENV_PREFIX",
    "SECRET_KEYS",
    "ClockSettings",
    "ComputeSettings",
    "DashboardSettings",
    "DatasetSettings",
    "GatewaySettings",
    "LakeSettings",
    "LedgerSettings",
    "MonitoringSettings",
    "OnlineStoreSettings",
    "PolicySettings",
    "ProjectSettings",
    "SchedulerSettings",
    "SecuritySettings",
    "Settings",
    "SourceSettings",
    "TrackingSettings",
    "env_overrides",
    "load_settings",
    "redacted",
    "secret_values",
]

CONFIG_FILE = "helio.toml"
# The keys whose values are secrets (shown as *** everywhere); URLs also lose their password.
SECRET_KEYS = ("gateway.webhook_secret", "monitoring.webhook_url")
_URL_KEYS = ("ledger.url", "tracking.uri", "online_store.url")
_REDACTED = "***"
ENV_PREFIX = "HELIO_"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProjectSettings(_Section):
    name: str = "heliograph"
    state_dir: str = ".helio"


class ClockSettings(_Section):
    mode: Literal["real", "replay"] = "real"
    start: datetime | None = None
    speed: float = Field(default=1.0, gt=0)

    @field_validator("start")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        from ._clock import as_utc

        return None if value is None else as_utc(value)


class LakeSettings(_Section):
    path: str = ""
    # Any fsspec URL (s3://bucket/prefix); set, it wins over ``path``. The endpoint and the
    # credentials come from the environment (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ...).
    uri: str = ""

    @field_validator("uri")
    @classmethod
    def _url(cls, value: str) -> str:
        if value and "://" not in value:
            raise ValueError("a URL such as s3://bucket/prefix (a folder goes in lake.path)")
        return value


class TrackingSettings(_Section):
    uri: str = ""
    artifacts: str = ""


class LedgerSettings(_Section):
    url: str = ""
    durability: Literal["journal", "window", "background"] = "window"


class OnlineStoreSettings(_Section):
    backend: Literal["sqlite", "redis"] = "sqlite"
    url: str = ""
    prefix: str = ""
    retention_days: float = Field(default=1.0, gt=0)


class PolicySettings(_Section):
    metric: str = "mae"
    direction: Literal["minimize", "maximize"] = "minimize"
    min_margin: float = Field(default=0.0, ge=0, lt=1)
    require_checks: bool = True
    same_window: bool = True
    max_p99_ms: float = Field(default=0.0, ge=0)
    max_artifact_mb: float = Field(default=0.0, ge=0)
    max_memory_mb: float = Field(default=0.0, ge=0)


class GatewaySettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    poll_interval: float = Field(default=2.0, gt=0)
    invocations_model: str = ""
    shadow: bool = True
    webhook_secret: str = ""
    max_input_age_hours: float = Field(default=36.0, ge=0)
    max_batch_rows: int = Field(default=64, ge=1)


class MonitoringSettings(_Section):
    """``[monitoring]``: the windows, thresholds, alert webhook and live-evidence rules of
    the ``monitor`` job (docs/monitoring.md)."""

    windows_hours: list[float] = Field(default=[24.0, 168.0], min_length=1)
    # The one window drift is computed over (its own: the metrics' longest would mix weeks
    # before a shift into the sample, a day is too few days of a daily cycle), and the least
    # distinct live input rows (or predicted targets) in it for a verdict (docs/monitoring.md).
    drift_window_hours: float = Field(default=48.0, gt=0)
    drift_min_values: int = Field(default=48, ge=1)
    psi: float = Field(default=0.2, gt=0)
    ks: float = Field(default=0.2, gt=0, le=1)
    wasserstein: float = Field(default=0.2, gt=0)
    jensen_shannon: float = Field(default=0.2, gt=0, le=1)
    coverage_tolerance: float = Field(default=0.15, gt=0, lt=1)
    degradation: float = Field(default=0.5, ge=0)
    min_judged: int = Field(default=48, ge=1)
    webhook_url: str = ""
    webhook_attempts: int = Field(default=3, ge=1, le=10)
    webhook_timeout_seconds: float = Field(default=5.0, gt=0)
    spool_max_lines: int = Field(default=10_000, ge=0)
    service_silence_minutes: float = Field(default=90.0, gt=0)
    job_overdue_factor: float = Field(default=2.0, ge=1)
    min_shadow_hours: float = Field(default=24.0, ge=0)
    # Per service, the patterns of the features whose drift is watched ("!" excludes); a
    # service not named here: what its app declares (App.watched_features), else every one.
    watch: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("windows_hours")
    @classmethod
    def _positive(cls, value: list[float]) -> list[float]:
        if any(not hours > 0 for hours in value):
            raise ValueError("every window is a positive number of hours")
        return value


class SecuritySettings(_Section):
    """``[security]``: where secrets may come from (docs/production.md, "Security").

    Secrets are the keys in ``SECRET_KEYS`` and any password inside a URL. They are never
    printed: ``helio config show`` shows ``***`` (``redacted``)."""

    # true: a secret written in helio.toml is refused; it must come from a HELIO_ variable.
    secrets_from_env: bool = False


class SchedulerSettings(_Section):
    lease_seconds: float = Field(default=60.0, gt=0)
    poll_seconds: float = Field(default=1.0, gt=0)
    max_runs_per_tick: int = Field(default=100, ge=1)
    separate_jobs: list[str] = Field(default=["retrain"])


class DashboardSettings(_Section):
    """``[dashboard]``: ``helio dashboard`` (Streamlit), also started by ``helio up``."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8501, ge=1, le=65535)
    password: str = ""


class ComputeSettings(_Section):
    """``[compute]``: where heavy compute runs (backtests, sweeps, batch scoring, simulations):
    ``local`` processes, or a ``ray`` cluster at ``address`` (docs/compute.md)."""

    engine: Literal["local", "ray"] = "local"
    address: str = ""
    workers: int = Field(default=1, ge=0)  # 1: in this process (a script needs no main guard)


class DatasetSettings(_Section):
    key: list[str] = Field(min_length=1)
    time_column: str
    columns: dict[str, str] = Field(min_length=1)
    checks: list[dict[str, Any]] = Field(default_factory=list)


class SourceSettings(_Section):
    name: str = Field(min_length=1)
    type: str = Field(min_length=1)
    options: dict[str, Any] = Field(default_factory=dict)


class Settings(_Section):
    project: ProjectSettings = ProjectSettings()
    clock: ClockSettings = ClockSettings()
    lake: LakeSettings = LakeSettings()
    tracking: TrackingSettings = TrackingSettings()
    ledger: LedgerSettings = LedgerSettings()
    online_store: OnlineStoreSettings = OnlineStoreSettings()
    policy: PolicySettings = PolicySettings()
    gateway: GatewaySettings = GatewaySettings()
    monitoring: MonitoringSettings = MonitoringSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    dashboard: DashboardSettings = DashboardSettings()
    compute: ComputeSettings = ComputeSettings()
    security: SecuritySettings = SecuritySettings()
    datasets: dict[str, DatasetSettings] = Field(default_factory=dict)
    sources: list[SourceSettings] = Field(default_factory=list)
    # Each app's own settings (``[apps.energy.battery]``), validated by the app that reads them.
    apps: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("sources")
    @classmethod
    def _unique_sources(cls, value: list[SourceSettings]) -> list[SourceSettings]:
        seen: set[str] = set()
        for source in value:
            if source.name in seen:
                raise ValueError(f"source name {source.name!r} is used twice; names must be unique")
            seen.add(source.name)
        return value


def env_overrides(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The configuration keys set by ``HELIO_SECTION__KEY`` variables, as a nested dict."""
    environ = os.environ if environ is None else environ
    found: dict[str, Any] = {}
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX) :].split("__")]
        if any(not part for part in path):
            raise ConfigError(
                f"environment variable {name} is not of the form HELIO_SECTION__KEY",
                field=name,
                rule="HELIO_SECTION__KEY",
            )
        node = found
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = _parse_env_value(raw)
    return found


def _parse_env_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def load_settings(path: Path | None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read ``path`` (or nothing, when None), apply environment overrides, validate.

    Raises ConfigError naming the file, the key and the rule for anything invalid.
    """
    data: dict[str, Any] = {}
    where = str(path) if path is not None else "(no file)"
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                f"no configuration file at {path}",
                file=str(path),
                hint="run `helio init DIR` to create a project",
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                f"{path} is not valid TOML: {exc}", file=str(path), rule="TOML syntax"
            ) from None
    overrides = env_overrides(environ)
    try:
        settings = Settings.model_validate(_merge(data, overrides))
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(p) for p in error["loc"])
        env_name = ENV_PREFIX + "__".join(str(p).upper() for p in error["loc"])
        origin = env_name if _lookup(overrides, error["loc"]) else where
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        more = f" (and {len(exc.errors()) - 1} more problems)" if len(exc.errors()) > 1 else ""
        raise ConfigError(
            f"invalid configuration key {key}: {message}{more}",
            file=origin,
            field=key,
            rule=error["type"],
        ) from None
    if settings.security.secrets_from_env:
        _secrets_in_file(data, where)
    return settings


def _lookup(tree: Mapping[str, Any], loc: tuple[Any, ...]) -> bool:
    node: Any = tree
    for part in loc:
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            return False
    return True


def _url_password(url: str) -> str | None:
    from urllib.parse import urlsplit

    try:
        return urlsplit(url).password or None
    except ValueError:
        return None


def secret_values(settings: Settings) -> list[str]:
    """The secret strings of ``settings`` (keys of ``SECRET_KEYS``, passwords in URLs), to
    be kept out of anything printed, logged or recorded."""
    data = settings.model_dump(mode="json")
    found = []
    for key in SECRET_KEYS:
        section, name = key.split(".")
        if value := data[section][name]:
            found.append(str(value))
    for key in _URL_KEYS:
        section, name = key.split(".")
        if password := _url_password(str(data[section][name])):
            found.append(password)
    return sorted(set(found), key=len, reverse=True)


def redacted(data: Any, secrets: list[str]) -> Any:
    """``data`` (nested dicts, lists, strings) with every secret string replaced by ***."""
    if isinstance(data, str):
        for secret in secrets:
            data = data.replace(secret, _REDACTED)
        return data
    if isinstance(data, Mapping):
        return {key: redacted(value, secrets) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [redacted(value, secrets) for value in data]
    return data


def _secrets_in_file(data: Mapping[str, Any], where: str) -> None:
    """Refuse a secret written in the file (``[security] secrets_from_env = true``)."""
    for key in SECRET_KEYS + _URL_KEYS:
        section, name = key.split(".")
        value = data.get(section, {}).get(name) if isinstance(data.get(section), Mapping) else None
        if not value or (key in _URL_KEYS and not _url_password(str(value))):
            continue
        env_name = ENV_PREFIX + "__".join(part.upper() for part in (section, name))
        raise ConfigError(
            f"{key} holds a secret in {where}; [security] secrets_from_env forbids it",
            file=where,
            field=key,
            rule="secrets come from the environment",
            hint=f"remove it from the file and set {env_name}",
        )
