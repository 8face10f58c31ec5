"""Monitoring: live metrics per model version and role, drift, alerts and live evidence.

- ``performance``: MAE, RMSE, pinball loss, interval coverage and the app's business metric
  (``BusinessMetric``) per (model, version, role), from judged predictions;
- ``hit_rate``: live HR@k of recommendations, judged on the user's later interactions;
- ``frame_drift`` / ``column_drift``: PSI, KS and Wasserstein for numbers, Jensen–Shannon and
  chi² for categories, against a version's training reference (``training_reference``), of
  the features a service watches (``watched_columns``: the app's ``App.watched_features``,
  or ``[monitoring] watch``);
- ``run_monitor``: one pass over the ledger, stored pre-aggregated per version and window
  (``heliograph.ledger.MonitorResult``), alerts (``Alert``) as events and a webhook post,
  each once per pass (``raise_alerts``, ``post_alerts``);
- service health: ``spool_alerts``, ``overdue_jobs``, ``silent_services``;
- ``compare_live`` / ``live_evidence``: the challenger against the champion on the same live
  window by a ``LivePolicy``, the verdict a ``promote`` job acts on; ``serving_gates``: its
  artefact-size and memory gates.

Example::

    from heliograph.monitoring import run_monitor
    outcome = run_monitor(project.ledger_url, now=now, settings=project.settings.monitoring)
"""

from __future__ import annotations

from ._alerts import (
    Alert,
    deliver_alerts,
    post_alerts,
    raise_alerts,
    result_key,
    threshold_alerts,
)
from ._business import BusinessMetric, app_business_metrics
from ._drift import (
    CATEGORY_STATISTICS,
    NUMERIC_STATISTICS,
    ColumnDrift,
    column_drift,
    frame_drift,
    unmatched_patterns,
    watched_columns,
)
from ._evidence import LivePolicy, LiveVerdict, compare_live, live_evidence, serving_gates
from ._health import overdue_jobs, silent_services, spool_alerts, spool_lines
from ._monitor import (
    DEGRADATION,
    MonitorOutcome,
    References,
    degradation_results,
    run_monitor,
    window_results,
)
from ._performance import GROUP, performance, quantile_columns
from ._ranking import hit_rate
from ._reference import PREDICTION_COLUMN, REFERENCE_ARTIFACT, training_reference
from ._webhook import WebhookDelivery, post_webhook

__all__ = [
    "CATEGORY_STATISTICS",
    "DEGRADATION",
    "GROUP",
    "NUMERIC_STATISTICS",
    "PREDICTION_COLUMN",
    "REFERENCE_ARTIFACT",
    "Alert",
    "BusinessMetric",
    "ColumnDrift",
    "LivePolicy",
    "LiveVerdict",
    "MonitorOutcome",
    "References",
    "WebhookDelivery",
    "app_business_metrics",
    "column_drift",
    "compare_live",
    "degradation_results",
    "deliver_alerts",
    "frame_drift",
    "hit_rate",
    "live_evidence",
    "overdue_jobs",
    "performance",
    "post_alerts",
    "post_webhook",
    "quantile_columns",
    "raise_alerts",
    "result_key",
    "run_monitor",
    "serving_gates",
    "silent_services",
    "spool_alerts",
    "spool_lines",
    "threshold_alerts",
    "training_reference",
    "unmatched_patterns",
    "watched_columns",
    "window_results",
]
