"""Reference systems and other add-ons, found through the ``heliograph.apps`` entry point group.

An app is built only from heliograph's public API. It gives ``helio init`` a configuration
snippet (its datasets, checks and sources) and the clock it is best shown on, and may add
formats and source types through their own entry point groups.

Example::

    [app.name for app in load_apps()]
    # ['energy']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from ._errors import UsageError

__all__ = ["App", "app_services", "load_app", "load_apps"]


@dataclass(frozen=True)
class App:
    name: str
    description: str
    config: str = ""
    clock: dict[str, Any] = field(default_factory=dict)
    commands: dict[str, Any] = field(default_factory=dict)
    """Commands the app adds to CLI groups: ``{"train": fn}`` → ``helio train <app>``."""
    datasets: tuple[str, ...] = ()
    """The datasets the app's config snippet declares: a project uses the app if it has them."""
    services: Any = None
    """A function returning the app's services (``heliograph.serving.Service``; it may import
    the gateway's web stack, so it is called only by what serves, predicts or monitors
    them: ``app_services``)."""
    online_views: Any = None
    """A function returning the app's online views (``heliograph.features.OnlineView``): the
    feature views the ``materialize`` job keeps ready in the online store."""
    business_metrics: Any = None
    """A function returning the app's business metrics (``heliograph.monitoring.BusinessMetric``,
    one per service): what the ``monitor`` job computes beside MAE and coverage."""
    actuals: Any = None
    """A function returning the app's actuals sources (``heliograph.jobs.ActualsSource``, one
    per service): how the ``actuals`` job reads the realised values its predictions judge."""
    retrain: Any = None
    """The app's training entry point for the ``retrain`` job: ``(project, reason)`` → a list of
    ``TrainOutcome``, every model of the app trained on the newest snapshots (each registered as
    the ``challenger``)."""
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Keys of ``helio.toml``'s sections that ``helio init --app`` writes with the app's values
    instead of the defaults (``{"monitoring": {"ks": 0.9}}``)."""
    watched_features: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Per service, the patterns of the input columns whose drift the ``monitor`` job watches
    (shell-style; ``!`` excludes; ``prediction`` is the predictions): e.g. everything but
    the calendar, which always differs from a training sample. ``[monitoring] watch`` in
    ``helio.toml`` overrides it; a service not named: every column."""


def load_apps() -> list[App]:
    return sorted(
        (ep.load() for ep in entry_points(group="heliograph.apps")), key=lambda app: app.name
    )


def app_services(apps: Sequence[App] | None = None) -> list[Any]:
    """The services of ``apps`` (default: every installed app), in app order."""
    apps = load_apps() if apps is None else apps
    return [service for app in apps if app.services is not None for service in app.services()]


def load_app(name: str) -> App:
    for app in load_apps():
        if app.name == name:
            return app
    known = ", ".join(a.name for a in load_apps()) or "none installed"
    raise UsageError(f"unknown app {name!r}", field="app", rule=f"one of: {known}")
