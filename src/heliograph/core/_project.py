"""A project: a folder with ``helio.toml`` and a state folder beside it.

The state folder (``.helio/`` by default) holds the lake, MLflow's SQLite store and artefacts,
and the ledger database. Nothing is created on import or on load; ``init_project`` and the
commands that write are the only things that make folders.

>>> project = init_project(Path("demo"), name="demo")
>>> project.lake_path
PosixPath('demo/.helio/lake')
"""

from __future__ import annotations

import json
import os
import re
import time
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import ValidationError

from ._atomic import atomic_write
from ._clock import Clock, RealClock, ReplayClock
from ._config import (
    CONFIG_FILE,
    Settings,
    env_overrides,
    load_settings,
    redacted,
    secret_values,
)
from ._errors import ConfigError

__all__ = ["CONFIG_TEMPLATE", "PROJECT_ENV", "Project", "init_project"]

PROJECT_ENV = "HELIO_PROJECT"

CONFIG_TEMPLATE = """\
# heliograph project configuration. Every key is shown with its default.
# Any key can be overridden by an environment variable HELIO_<SECTION>__<KEY>,
# e.g. HELIO_LEDGER__URL=postgresql+psycopg://user@db/helio. `helio config show` prints the
# effective configuration.

[project]
# Shown in the dashboard, the MLflow experiment names and reports.
name = "{name}"
# Folder for everything the project writes (lake, MLflow store and artefacts, ledger),
# relative to this file unless absolute.
state_dir = ".helio"

[clock]
# "real": wall-clock time. "replay": history replayed from `start` at `speed` simulated
# seconds per real second (demos and operational backtests).
mode = "{clock_mode}"
{clock_start}
speed = {clock_speed}

[lake]
# Folder of the Parquet lake. Empty: <state_dir>/lake.
path = ""
# The lake on object storage instead: any fsspec URL, s3://bucket/prefix first (it wins over
# path). Endpoint and credentials from the environment: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
# AWS_SECRET_ACCESS_KEY (docs/production.md).
uri = ""

[tracking]
# MLflow tracking and registry URI. Empty: sqlite:///<state_dir>/mlflow.db.
uri = ""
# Where new experiments keep their files: a URI (s3://bucket/prefix) or a folder. Empty:
# <state_dir>/mlartifacts with the embedded store, the server's own store with a server.
artifacts = ""

[ledger]
# SQLAlchemy URL of the ledger (predictions, actuals, events). Empty: SQLite (WAL) at
# <state_dir>/ledger.db. Production: postgresql+psycopg://USER@HOST/DB.
url = ""
# What a prediction's 200 promises if the gateway is killed (SIGKILL, power loss). "journal":
# its record was fsynced to a local journal before the answer (group commit): nothing
# answered is lost, at the cost of one fsync in each answer's latency. "window": the same
# journal, not waited for, committed every 20 ms: a kill loses the answers of the last
# 20 ms and of the commit in progress, whatever the database does. "background": only the
# ledger writer (memory, then every 0.2 s the database or the spool): a kill loses what it
# holds, more while the database hangs.
durability = "window"

[online_store]
# Materialised feature states for serving (`helio job run materialize`). "sqlite": a file
# <state_dir>/online.db (or the path in `url`); "redis": the server at `url`
# (redis://HOST:6379/0), shared by every gateway replica.
backend = "sqlite"
url = ""
# Prefix of every key (several projects may share one Redis). Empty: helio:<project name>:.
prefix = ""
# Days of "features as of T" kept ready; an older as_of is answered from the lake. Each
# state (a moment new input became known, per entity) is computed once by `materialize`.
retention_days = 1.0

[policy]
# Promotion of a model's challenger to champion (`helio model promote`, `helio ci report`).
# The backtest metric compared (mae, rmse, smape, rmae, pinball_q50, battery_capture, ...)
metric = "mae"
# "minimize" or "maximize" the metric.
direction = "minimize"
# Required relative improvement over the champion (0.02 = 2% better).
min_margin = 0.0
# The candidate's training data must have passed its checks.
require_checks = true
# Both versions must have been backtested on the same window.
same_window = true
# Promotion on live evidence (the `promote` job): the challenger's shadow answers must have
# a 99th-percentile latency of at most this many milliseconds. 0: no latency gate.
max_p99_ms = 0.0
# ... and its model artefacts (the files its registered version holds) at most this many MB.
# 0: no size gate.
max_artifact_mb = 0.0
# ... and serving it (loading it in a fresh process, predicting on its input example) may
# take at most this many MB of memory; measured, in seconds, only when all else accepts.
# 0: no memory gate.
max_memory_mb = 0.0

[gateway]
# `helio serve`: the HTTP gateway that serves what the registry says.
host = "127.0.0.1"
port = 8000
# Seconds between looks at the registry's aliases (a new champion is live within this).
poll_interval = 2.0
# The registered model that answers POST /invocations; empty: the only one served.
invocations_model = ""
# Run each request through the challenger too, off the hot path, into the ledger.
shadow = true
# Secret of an MLflow registry webhook (event model_version_alias.*) pointed at
# POST /v1/registry/webhook: alias moves are then noticed at once. Empty: endpoint off.
webhook_secret = ""
# A service refuses (503) an answer whose newest input of some dataset was older than this
# many hours at its as_of (run `helio job run ingest`); 0: answer, flagged in `freshness`.
max_input_age_hours = 36.0
# POST /invocations: rows of concurrent requests for one model version predicted in one call
# (requests received in the same turn of the event loop; nothing waits for more). 1: off.
max_batch_rows = 64

[monitoring]
# The `monitor` job: live metrics per service, model version and role, and drift, over
# rolling windows ending now (hours), stored per window in the ledger (docs/monitoring.md).
windows_hours = [24.0, 168.0]
# Drift is computed over one window of its own, ending now (hours): the inputs of the
# predictions made in it, against the version's training reference. Fewer distinct live input
# rows (or predicted targets) in it than drift_min_values: no drift verdict, said in the
# job's line, no alert.
drift_window_hours = 48.0
drift_min_values = 48
# Drift alerts, per feature and for the predictions, against the training reference:
# population stability index, Kolmogorov–Smirnov statistic (0-1), Wasserstein distance in
# reference standard deviations, Jensen–Shannon distance of categories (base 2, 0-1).
psi = 0.2
ks = 0.2
wasserstein = 0.2
jensen_shannon = 0.2
# Alert when an interval's live coverage is further than this from its nominal level.
coverage_tolerance = 0.15
# Alert when a version's MAE over the shortest window is more than this much worse than over
# the longest (0.5: 50 % worse): a champion degrading, e.g. after a regime shift. 0: off.
degradation = 0.5
# Fewer judged predictions (or live values of a feature) than this in a window: no metric
# or drift alert, and no promotion on live evidence.
min_judged = 48
# Slack-compatible webhook ({{"text": ...}}) for alerts; empty: alerts are events only.
webhook_url = ""
webhook_attempts = 3
webhook_timeout_seconds = 5.0
# Service health: alert when the prediction spool holds more lines than this, when a
# service recorded no prediction for this many minutes, when a job's last run is older than
# this many times its interval.
spool_max_lines = 10000
service_silence_minutes = 90.0
job_overdue_factor = 2.0
# Live evidence for promotion: the challenger must have shadowed this long.
min_shadow_hours = 24.0
# Per service, the features whose drift is watched: shell-style patterns, "!" excludes, the
# last match decides ("prediction" is the predictions). A service not named here: what its
# app declares (the energy app leaves out the calendar), else every feature. E.g.
# watch = {{ price-forecast = ["price_lag_*", "prediction"] }}
watch = {{}}

[security]
# true: a secret (gateway.webhook_secret, monitoring.webhook_url, a password in a URL) written
# in this file is refused; it must come from its HELIO_ variable. Secrets always print as ***.
secrets_from_env = false

[scheduler]
# `helio up` runs each job's schedule (`helio job list`); each run is one (job, scheduled time),
# recorded in the ledger before it starts. Wall-clock seconds a run's claim lasts without
# renewal: a scheduler that dies is replaced after this (at once on the same host).
lease_seconds = 60.0
# Longest wall-clock wait between two looks at what is due.
poll_seconds = 1.0
# Most runs started in one look (missed runs beyond it are started in the next).
max_runs_per_tick = 100
# Jobs `helio up` runs beside the others, each in a scheduler process of its own, so that a
# long run of one (a retrain) holds no other back: predictions and monitoring stay on time
# during it. The claims in the ledger keep every interval to one run. []: one scheduler
# runs every job in turn.
separate_jobs = ["retrain"]

[dashboard]
# `helio dashboard` (Streamlit), also started by `helio up` when enabled (docs/dashboard.md).
enabled = true
host = "127.0.0.1"
port = 8501
# Required to bind anywhere but 127.0.0.1 / localhost: asked for on the first page, or given
# as ?token=... in the address. Better set by HELIO_DASHBOARD__PASSWORD than written here.
password = ""
[compute]
# Where heavy compute runs: backtest folds, sweep trials, batch scoring (docs/compute.md).
# "local": processes of this machine; "ray": Ray tasks on the cluster at `address`
# (empty: a cluster started in the process; "auto": the one this host has joined;
# ray://HOST:10001: a remote one). `helio train --engine` overrides it for one run.
engine = "local"
address = ""
# How many run at once: local processes (1: in this process, the default, so a script or
# notebook needs no `if __name__ == "__main__":` guard; 0: one per core), or the CPUs of a Ray
# cluster started here (0: all).
workers = 1

# Datasets: [datasets.NAME] with `key` (columns that identify a row), `time_column` (its
# date names the partition), `columns` (name = type: string, double, bigint, boolean,
# timestamp) and `checks`, a list of expectations run on every new partition
# (see docs/checks.md). Sources: [[sources]] with `name`, `type` and `options`.
"""


class Project:
    """A loaded project: its root folder, its settings and the paths derived from them."""

    def __init__(self, root: Path, settings: Settings, config_path: Path | None) -> None:
        self.root = root
        self.settings = settings
        self.config_path = config_path
        self._clock: Clock | None = None

    def with_clock(self, clock: Clock) -> Project:
        """Run this project's jobs on ``clock``, not the configured one (tests, as-of runs)."""
        self._clock = clock
        return self

    @classmethod
    def load(cls, root: Path | str) -> Project:
        root = Path(root)
        config_path = root / CONFIG_FILE
        if not config_path.is_file():
            raise ConfigError(
                f"{root} is not a heliograph project (no {CONFIG_FILE})",
                file=str(config_path),
                hint="run `helio init DIR` to create one",
            )
        return cls(root, load_settings(config_path), config_path)

    @classmethod
    def find(cls, start: Path | str | None = None) -> Project:
        """The project named by ``HELIO_PROJECT``, else the nearest ``helio.toml`` upwards."""
        if start is None and os.environ.get(PROJECT_ENV):
            return cls.load(os.environ[PROJECT_ENV])
        here = Path(start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / CONFIG_FILE).is_file():
                return cls.load(folder)
        raise ConfigError(
            f"no {CONFIG_FILE} in {here} or any folder above it",
            hint=f"run `helio init DIR`, pass --project DIR or set {PROJECT_ENV}",
        )

    def _path(self, value: str, default: str) -> Path:
        if not value:
            return self.state_dir / default
        path = Path(value)
        return path if path.is_absolute() else self.root / path

    @property
    def state_dir(self) -> Path:
        path = Path(self.settings.project.state_dir)
        return path if path.is_absolute() else self.root / path

    @property
    def lake_path(self) -> Path:
        return self._path(self.settings.lake.path, "lake")

    @property
    def artifacts_dir(self) -> Path:
        return self._path(self.settings.tracking.artifacts, "mlartifacts")

    @property
    def tracking_uri(self) -> str:
        return self.settings.tracking.uri or f"sqlite:///{(self.state_dir / 'mlflow.db').resolve()}"

    @property
    def ledger_url(self) -> str:
        return self.settings.ledger.url or f"sqlite:///{(self.state_dir / 'ledger.db').resolve()}"

    def clock(self) -> Clock:
        """The project's clock; a replay resumes where it was (its origin is kept in state)."""
        if self._clock is not None:
            return self._clock
        cfg = self.settings.clock
        if cfg.mode == "real":
            return RealClock()
        if cfg.start is None:
            raise ConfigError(
                "clock.mode = 'replay' needs clock.start",
                file=str(self.config_path),
                field="clock.start",
                rule="required when mode is replay",
            )
        marker = self.state_dir / "clock.json"
        origin = None
        if marker.is_file():
            saved = json.loads(marker.read_text())
            if saved.get("start") == cfg.start.isoformat():
                origin = float(saved["origin"])
                if saved.get("speed") != cfg.speed:
                    # A new speed continues from where the replay is, it never restarts it.
                    replayed = (time.time() - origin) * float(saved["speed"])
                    origin = time.time() - replayed / cfg.speed
                else:
                    return ReplayClock(cfg.start, cfg.speed, origin)
        clock = ReplayClock(cfg.start, cfg.speed, origin)
        self._keep_replay(clock)
        return clock

    def _keep_replay(self, clock: ReplayClock, *, began: bool | None = None) -> None:
        marker = self.state_dir / "clock.json"
        marker.parent.mkdir(parents=True, exist_ok=True)
        if began is None:  # as it was; a marker older than the flag is a replay under way
            began = self.replay_began()
        start, speed = clock.start.isoformat(), clock.speed
        saved = {"start": start, "speed": speed, "origin": clock.origin, "began": began}
        atomic_write(marker, json.dumps(saved).encode())

    def replay_began(self) -> bool:
        """Whether the replay has begun: ``helio up`` finished a fresh project's first look
        and started the replayed days (``restart_replay(began=True)``). A real clock has."""
        if self.settings.clock.mode == "real":
            return True
        marker = self.state_dir / "clock.json"
        if not marker.is_file():
            return False
        return bool(json.loads(marker.read_text()).get("began", True))

    def mark_replay_began(self) -> None:
        """Record that the replay has begun where it is (``helio up --once``: its look, at
        the clock's now, was the first), so a later ``helio up`` resumes, never restarts it."""
        clock = self.clock()
        if isinstance(clock, ReplayClock) and not self.replay_began():
            self._keep_replay(clock, began=True)

    def restart_replay(self, *, began: bool = True) -> Clock:
        """The replay starts again from its ``start``, now. ``helio up`` calls it before a
        fresh project's first look (``began=False``: the history before ``start`` loaded and
        a first model served, at ``start``) and again once that look is done (the replayed
        days begin, however long the look took); the real clock is returned as it is."""
        clock = self.clock()
        if isinstance(clock, ReplayClock):
            clock = ReplayClock(clock.start, clock.speed, time.time())
            self._keep_replay(clock, began=began)
        return clock

    def effective(self) -> dict[str, Any]:
        """The effective configuration with derived paths filled in (for `helio config show`)."""
        data = self.settings.model_dump(mode="json", exclude_none=True)
        data["project"]["state_dir"] = str(self.state_dir)
        data["lake"]["path"] = str(self.lake_path)
        data["tracking"] = {"uri": _masked(self.tracking_uri), "artifacts": str(self.artifacts_dir)}
        data["ledger"]["url"] = _masked(self.ledger_url)
        data["online_store"]["url"] = _masked(data["online_store"]["url"])
        return dict(redacted(data, secret_values(self.settings)))

    def overridden_keys(self) -> list[str]:
        """The keys that HELIO_ variables set, as ``section.key``."""

        def walk(tree: dict[str, Any], prefix: str) -> list[str]:
            keys = []
            for key, value in tree.items():
                if isinstance(value, dict):
                    keys += walk(value, f"{prefix}{key}.")
                else:
                    keys.append(prefix + key)
            return keys

        return walk(env_overrides(), "")


def _masked(url: str) -> str:
    """``url`` with any password replaced by ***, for printing."""
    return re.sub(r"(://[^:/@]+:)[^@]+@", r"\1***@", url)


def _toml_value(value: Any, where: str) -> str:
    """``value`` as TOML text for one line (tables inline), or a ConfigError naming ``where``."""
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            name = key if re.fullmatch(r"[A-Za-z0-9_-]+", str(key)) else json.dumps(str(key))
            items.append(f"{name} = {_toml_value(item, f'{where}.{key}')}")
        return "{ " + ", ".join(items) + " }" if items else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v, where) for v in value) + "]"
    try:
        return tomli_w.dumps({"v": value}).partition(" = ")[2].strip()
    except TypeError:
        raise ConfigError(
            f"{where}: {value!r} has no TOML form", field=where, rule="a TOML value"
        ) from None


def _set_key(text: str, section: str, key: str, value: Any) -> str:
    """``text`` (the template) with ``key = value`` in ``[section]`` instead of its default."""
    head = text.find(f"\n[{section}]\n")
    if head < 0:
        raise ConfigError(f"no [{section}] in the template", field=section)
    end = text.find("\n[", head + 1)
    end = len(text) if end < 0 else end
    line = f"{key} = {_toml_value(value, f'{section}.{key}')}"
    body, n = re.subn(
        rf"^{re.escape(key)} = .*$",
        lambda _: line,  # as written: no backslash in it is a group reference
        text[head:end],
        count=1,
        flags=re.M,
    )
    if not n:
        raise ConfigError(f"no {section}.{key} in the template", field=f"{section}.{key}")
    return text[:head] + body + text[end:]


def _check_template(text: str, path: Path) -> None:
    try:
        Settings.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} would not be valid TOML: {exc}", file=str(path)) from None
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(p) for p in error["loc"])
        raise ConfigError(
            f"{path}: {key}: {error['msg']}", file=str(path), field=key, rule=error["msg"]
        ) from None


def init_project(
    directory: Path | str,
    *,
    name: str | None = None,
    extra: str = "",
    clock: dict[str, Any] | None = None,
    settings: dict[str, dict[str, Any]] | None = None,
    force: bool = False,
) -> Project:
    """Create ``helio.toml`` (documented defaults plus ``extra``) and the state folder.

    ``clock`` sets the [clock] keys (``mode``, ``start``, ``speed``) instead of their defaults;
    ``settings`` sets other keys of the template's sections (``{"monitoring": {"ks": 0.9}}``:
    an app's own values, written where the key is documented).
    """
    directory = Path(directory)
    config_path = directory / CONFIG_FILE
    if config_path.exists() and not force:
        raise ConfigError(
            f"{config_path} exists already",
            file=str(config_path),
            rule="init never overwrites a project",
            hint="use --force to rewrite helio.toml (data is kept)",
        )
    directory.mkdir(parents=True, exist_ok=True)
    clock = clock or {}
    start = clock.get("start")
    text = CONFIG_TEMPLATE.format(
        name=name or directory.resolve().name,
        clock_mode=clock.get("mode", "real"),
        clock_start=f"start = {start}" if start else "# start = 2025-01-01T00:00:00Z",
        clock_speed=float(clock.get("speed", 1.0)),
    )
    for section, keys in (settings or {}).items():
        for key, value in keys.items():
            text = _set_key(text, section, key, value)
    if extra:
        text += "\n" + extra.strip() + "\n"
    _check_template(text, config_path)  # a broken helio.toml is never written
    atomic_write(config_path, text)
    project = Project.load(directory)
    for folder in (project.state_dir, project.lake_path, project.artifacts_dir):
        folder.mkdir(parents=True, exist_ok=True)
    gitignore = project.state_dir / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text("*\n")
    return project
