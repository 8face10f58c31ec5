"""The dashboard: what people look at (Streamlit), over the monitor's pre-aggregated results,
the events and bounded indexed ledger queries.

The data functions (``overview``, ``forecast``, ``live_metrics``, ``verdicts``, ``drift``,
``events``, ``checks``, ``quarantine``, ``lineage_of`` …) are plain Python returning frames,
tested without a browser; the pages (``_pages``, run by the script ``_app.py``) are thin
Streamlit code over them;
``dashboard_command`` is the ``streamlit run`` line ``helio dashboard`` executes, refusing a
non-loopback address without ``[dashboard] password``.

Example::

    from heliograph.dashboard import overview
    overview(project).aliases
"""

from __future__ import annotations

from ._charts import (
    ROLE_COLOURS,
    drift_bars,
    drift_lines,
    event_timeline,
    forecast_chart,
    metric_lines,
)
from ._data import (
    HINTS,
    TIMELINE_KINDS,
    Overview,
    Verdict,
    drift,
    drift_history,
    events,
    forecast,
    live_metrics,
    metric_names,
    models_of,
    overview,
    services_of,
    verdicts,
)
from ._lake_data import checks, data_reports, lineage_of, quarantine, recent_predictions
from ._server import APP_SCRIPT, check_binding, dashboard_command, password_ok

__all__ = [
    "APP_SCRIPT",
    "HINTS",
    "ROLE_COLOURS",
    "TIMELINE_KINDS",
    "Overview",
    "Verdict",
    "check_binding",
    "checks",
    "dashboard_command",
    "data_reports",
    "drift",
    "drift_bars",
    "drift_history",
    "drift_lines",
    "event_timeline",
    "events",
    "forecast",
    "forecast_chart",
    "lineage_of",
    "live_metrics",
    "metric_lines",
    "metric_names",
    "models_of",
    "overview",
    "password_ok",
    "quarantine",
    "recent_predictions",
    "services_of",
    "verdicts",
]
