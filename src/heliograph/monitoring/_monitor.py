"""One monitoring pass: every service's live metrics and drift per version and window, stored
pre-aggregated in the ledger; alerts for what crossed a threshold; service health.

For each service that has predictions in the ledger and each window of ``[monitoring]
windows_hours`` ending at the pass's ``now``, ``window_results`` computes per (model,
version, role) the live metrics of ``performance`` (and ``coverage_gap``: coverage minus its
nominal level) over predictions whose target falls in the window; over the one window of
``drift_window_hours``, the drift of each watched feature and of the predictions against the
version's training reference. Drift needs a sample: a version whose window holds fewer than
``drift_min_values`` distinct live input rows (or predicted targets, for the predictions' drift)
gets no verdict, and the pass says so (``MonitorOutcome.no_verdict``) instead of computing
figures that would be noise. These are upserted as ``MonitorResult`` rows keyed by window
end, so the same pass twice stores each figure once; its alerts are raised and posted once
(``raise_alerts``, ``post_alerts``), whatever stopped an earlier run of it. The ledger is
read once per service, for the longest window.

The watched features are checked as they are used, and what watches nothing is said
(``MonitorOutcome.warnings``, a line each in the job's output, and a logged warning), never
an error that stops the pass: a ``watch`` key naming no service of the ledger (nor one an
app declares a business metric for), and an including pattern matching no column of a
version's training reference.

Example::

    outcome = run_monitor(project.ledger_url, now=now, settings=project.settings.monitoring)
    [a.reason for a in outcome.alerts]
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from heliograph.core import MonitoringSettings, as_utc, get_logger
from heliograph.ledger import (
    ROW_KEY,
    Ledger,
    MonitorResult,
    judged_predictions,
    last_prediction_times,
    prediction_inputs,
    read_monitor_results,
    store_monitor_results,
)

from ._alerts import Alert, post_alerts, raise_alerts, result_key, threshold_alerts
from ._business import BusinessMetric
from ._drift import frame_drift, unmatched_patterns, watched_columns
from ._health import overdue_jobs, silent_services, spool_alerts
from ._performance import GROUP, performance
from ._reference import PREDICTION_COLUMN
from ._webhook import WebhookDelivery

__all__ = [
    "DEGRADATION",
    "MonitorOutcome",
    "References",
    "degradation_results",
    "run_monitor",
    "window_results",
]

References = Callable[[str, str], pd.DataFrame | None]
"""``(model_name, version) -> frame``: a version's training reference (None: no drift)."""

log = get_logger(__name__)

_NOT_METRICS = {*GROUP, "count", "nominal"}
_NOT_FEATURES = {*GROUP, "at"}


@dataclass
class MonitorOutcome:
    """What one pass stored and raised: its ``window_end``, the ``results``, the ``alerts``
    it raised (``repeated``: how many more an earlier run of the same pass had raised) and
    what became of the webhook post (None: no post)."""

    window_end: datetime
    results: list[MonitorResult] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    delivery: WebhookDelivery | None = None
    no_verdict: list[str] = field(default_factory=list)
    """Per version whose drift window held too small a sample: why it has no drift figures."""
    repeated: int = 0
    warnings: list[str] = field(default_factory=list)
    """What the pass's configuration got wrong, without stopping it (a ``watch`` key or
    pattern that watches nothing), a sentence each."""

    def summary(self) -> str:
        """One line for people: what was stored and raised at ``window_end``; then a line
        per warning."""
        delivery = self.delivery
        posted = (
            ""
            if delivery is None
            else "; webhook "
            + ("delivered" if delivery.delivered else f"not delivered ({delivery.error})")
        )
        unjudged = f"; no drift verdict for {len(self.no_verdict)}" if self.no_verdict else ""
        repeated = f" ({self.repeated} raised before)" if self.repeated else ""
        count = len(self.warnings)
        warned = f"; {count} watch warning{'s' if count > 1 else ''}" if count else ""
        head = (
            f"monitor {self.window_end:%Y-%m-%d %H:%M} UTC: {len(self.results)} results, "
            f"{len(self.alerts)} alerts{repeated}{unjudged}{posted}{warned}"
        )
        return "\n".join([head, *self.warnings])


def _metric_results(
    table: pd.DataFrame, service: str, hours: float, end: datetime
) -> list[MonitorResult]:
    results = []
    if "coverage" in table:
        table = table.assign(coverage_gap=table["coverage"] - table["nominal"])
    for row in table.to_dict("records"):
        for name, value in row.items():
            if name in _NOT_METRICS:
                continue
            results.append(
                MonitorResult(
                    service,
                    str(row["model_name"]),
                    str(row["model_version"]),
                    str(row["role"]),
                    hours,
                    end,
                    "metric",
                    str(name),
                    "",
                    float(value),
                    int(row["count"]),
                )
            )
    return results


def _drift_results(
    current: pd.DataFrame,
    reference: pd.DataFrame,
    key: tuple[str, str, str],
    service: str,
    hours: float,
    end: datetime,
    watch: Sequence[str] | None = None,
    count: int | None = None,
) -> list[MonitorResult]:
    """``count``: the sample size the figures are stored with (default: each column's live
    values)."""
    columns = [c for c in reference.columns if c in current.columns and c not in _NOT_FEATURES]
    columns = watched_columns(columns, watch)
    results = []
    for drift in frame_drift(reference, current, columns=columns):
        for name, value in drift.statistics.items():
            results.append(
                MonitorResult(
                    service,
                    *key,
                    hours,
                    end,
                    "drift",
                    name,
                    drift.feature,
                    value,
                    drift.current_count if count is None else count,
                )
            )
    return results


def _distinct_rows(current: pd.DataFrame) -> int:
    """The live sample of a version's inputs: its distinct rows (a question asked again, or
    the same target forecast from several times, is one value, not several), over every
    input column, read or not (``ROW_KEY``, when the inputs were read with ``select``)."""
    if ROW_KEY in current:
        return int(current[ROW_KEY].nunique())
    features = current.drop(columns=[*GROUP, "at"], errors="ignore")
    return 0 if features.empty else len(features.drop_duplicates())


def window_results(
    judged: pd.DataFrame,
    inputs: pd.DataFrame,
    *,
    service: str,
    window_hours: float,
    window_end: datetime,
    references: References | None = None,
    business: BusinessMetric | None = None,
    point: str = "p50",
    watch: Sequence[str] | None = None,
    metrics: bool = True,
    min_values: int = 0,
    no_verdict: list[str] | None = None,
    warnings: list[str] | None = None,
) -> list[MonitorResult]:
    """The figures of one window from frames already read (``judged``: the ledger's judged
    predictions, ``inputs``: their recorded input rows); rows outside the window are left out.
    ``metrics=False``: drift only. Drift (given ``references``) is stored with its sample
    size: the version's distinct live input rows, or the window's targets it predicted for
    the predictions' own drift; fewer than ``min_values`` gives no figure, and a line in
    ``no_verdict`` saying so. ``watch``: the patterns of the columns whose drift is computed
    (``watched_columns``; ``prediction`` is the predictions'), None: every column; a pattern
    that matches no column of a version's reference is a line in ``warnings``."""
    end = as_utc(window_end)
    start = end - timedelta(hours=window_hours)
    if not judged.empty:
        judged = judged[(judged["target_time"] >= start) & (judged["target_time"] < end)]
    results: list[MonitorResult] = []
    if metrics:
        table = performance(
            judged,
            point=point,
            business=business.compute if business else None,
            business_name=business.name if business else "business",
        )
        results = _metric_results(table, service, window_hours, end)
    if references is None or judged.empty:
        return results
    if not inputs.empty:
        inputs = inputs[(inputs["at"] >= start) & (inputs["at"] < end)]
    for key, rows in judged.groupby(list(GROUP), sort=True):
        name, version, role = (str(k) for k in key)
        reference = references(name, version)
        if reference is None:
            continue
        if warnings is not None:
            _check_patterns(reference, watch, service, f"{name} v{version}", warnings)
        current = pd.DataFrame(index=pd.RangeIndex(0))
        if not inputs.empty:
            mask = (inputs["model_name"] == name) & (inputs["model_version"] == version)
            current = inputs[mask & (inputs["role"] == role)].reset_index(drop=True)
        current = current.drop(columns=[PREDICTION_COLUMN], errors="ignore")
        distinct = _distinct_rows(current)
        # one value per target: its forecasts from successive questions are not a sample
        predicted = (
            int(rows.loc[rows[point].notna(), "target_time"].nunique()) if point in rows else 0
        )
        short = []
        if point in rows and predicted >= min_values:
            predictions = pd.DataFrame({PREDICTION_COLUMN: rows[point].to_numpy()})
            results += _drift_results(
                predictions, reference, (name, version, role), service, window_hours, end, watch
            )
        elif point in rows:
            short.append(f"{predicted} predicted targets")
        if distinct >= min_values:
            results += _drift_results(
                current, reference, (name, version, role), service, window_hours, end, watch,
                count=distinct,
            )  # fmt: skip
        elif len(current.columns.difference([*GROUP, "at"])):
            short.append(f"{distinct} distinct input rows")
        if short and no_verdict is not None:
            no_verdict.append(
                f"{service}/{name}/v{version}/{role}: no drift verdict over the "
                f"{window_hours:g} h window to {end:%Y-%m-%d %H:%M} UTC, "
                f"{' and '.join(short)} (fewer than {min_values})"
            )
    return results


def _check_patterns(
    reference: pd.DataFrame,
    watch: Sequence[str] | None,
    service: str,
    version: str,
    warnings: list[str],
) -> None:
    """A line in ``warnings`` for each including pattern of ``watch`` that matches no column
    of ``reference`` (once per service and pattern, whichever version showed it). A
    reference of the predictions alone (no logged features) is not checked: its features
    are not compared at all."""
    columns = [str(c) for c in reference.columns if c not in _NOT_FEATURES]
    if not [c for c in columns if c != PREDICTION_COLUMN]:
        return
    for pattern in unmatched_patterns(columns, watch):
        head = f"watch: pattern {pattern!r} for service {service!r}"
        if any(w.startswith(head + " ") for w in warnings):
            continue
        shown = ", ".join(columns[:5]) + (", ..." if len(columns) > 5 else "")
        warnings.append(
            f"{head} matches no column of the training reference of {version} "
            f"({len(columns)} columns: {shown}); a pattern watches the columns it matches"
        )


def _check_services(
    settings: MonitoringSettings,
    watched: Mapping[str, Sequence[str]],
    known: set[str],
) -> list[str]:
    """A line for each ``watch`` key that names no known service: the ledger's (with
    predictions) and those the apps declare a business metric for."""
    found = []
    for source, keys, also in (
        ("[monitoring] watch", settings.watch, set(watched)),
        ("an app's watched_features", watched, set()),
    ):
        for key in sorted(keys):
            if key in known | also:
                continue
            names = ", ".join(sorted(known)) or "none: no service has predictions yet"
            found.append(
                f"watch: service {key!r} in {source} is not a known service (known: {names}); "
                "a key names a service with predictions in the ledger or declared by an app"
            )
    return found


DEGRADATION = "mae_degradation"
"""The figure ``mae`` over the shortest window relative to the time before it, minus one."""


def degradation_results(results: Iterable[MonitorResult]) -> list[MonitorResult]:
    """Per (service, model, version, role): how much worse its MAE is over the shortest
    window than over the rest of the longest, the time before it (``0.8``: 80 % worse),
    counted by the smaller of the two's judged.

    The windows end at the same time, so the longest holds the shortest: the MAE before it
    is the longest's sum of errors less the shortest's. Measured against the whole longest
    window instead, a degradation would be diluted by itself (and a version younger than the
    shortest window compared with the same rows twice): on the demo's fuel shift, DE's
    shortest-window MAE rose to 3.5 times what it was the day before while its ratio to the
    week's, the week being mostly those same days, never passed 1.31. No rows before the
    shortest window (a version younger than it): no figure.
    """
    mae: dict[tuple[str, str, str, str], dict[float, MonitorResult]] = {}
    for r in results:
        if r.kind == "metric" and r.name == "mae" and r.value is not None:
            key = (r.service, r.model_name, r.model_version, r.role)
            mae.setdefault(key, {})[r.window_hours] = r
    found = []
    for (service, model, version, role), windows in sorted(mae.items()):
        if len(windows) < 2:
            continue
        short, long = windows[min(windows)], windows[max(windows)]
        before = long.count - short.count
        if before <= 0 or long.value is None or not math.isfinite(long.value):
            continue
        recent = float(short.value or 0.0)
        prior = (float(long.value) * long.count - recent * short.count) / before
        if not math.isfinite(prior) or prior <= 0:
            continue
        found.append(
            MonitorResult(service, model, version, role, short.window_hours, short.window_end,
                          "metric", DEGRADATION, "", recent / prior - 1.0,
                          min(short.count, before))
        )  # fmt: skip
    return found


def _health(
    alerts: list[Alert], checked: Iterable[str], previous: Mapping[str, float | None], end: datetime
) -> tuple[list[Alert], list[MonitorResult]]:
    """Health alerts that start now (their subject was not alerting at the last pass), and
    the figures that remember which subjects alert (1.0) or not (0.0)."""
    alerting = {a.subject for a in alerts}
    results = [
        MonitorResult(subject, "", "", "", 0.0, end, "health", "alerting", "", float(bad), 1)
        for subject in sorted(set(checked) | alerting)
        for bad in (subject in alerting,)
    ]
    new = [a for a in alerts if not previous.get(a.subject)]
    return new, results


def run_monitor(
    url: str,
    *,
    now: datetime,
    settings: MonitoringSettings,
    references: References | None = None,
    business: Mapping[str, BusinessMetric] | None = None,
    spool: Path | None = None,
    job_last_runs: Mapping[str, datetime | None] | None = None,
    job_intervals: Mapping[str, timedelta] | None = None,
    backoff: float = 0.5,
    watched: Mapping[str, Sequence[str]] | None = None,
    silence: Mapping[str, timedelta] | None = None,
) -> MonitorOutcome:
    """One pass over every service in the ledger at ``url``, ending at ``now`` (see the
    module); ``job_last_runs`` and ``job_intervals`` turn on the overdue-job check;
    ``watched`` maps a service to the patterns of its watched features (``[monitoring] watch``
    of the settings wins over it; a service in neither: every feature); ``silence`` maps a
    service to how long it may record no prediction (``Service.max_silence``; a service not
    in it: ``service_silence_minutes``)."""
    end = as_utc(now).replace(microsecond=0)
    outcome = MonitorOutcome(end)
    drift_hours = settings.drift_window_hours
    longest = max(*settings.windows_hours, drift_hours)
    last = last_prediction_times(url)
    outcome.warnings = _check_services(settings, watched or {}, {*last, *(business or {})})
    for service in sorted(last):
        since = end - timedelta(hours=longest)
        judged = judged_predictions(url, service, since=since, until=end)
        inputs = pd.DataFrame()
        watch = settings.watch.get(service, (watched or {}).get(service))
        if references is not None:
            drift_since = end - timedelta(hours=drift_hours)  # the inputs drift reads, no more
            inputs = prediction_inputs(
                url,
                service,
                since=drift_since,
                until=end,
                # the watched columns only (of hundreds, often), and each row's key
                select=None if not watch else functools.partial(watched_columns, patterns=watch),
            )
        for hours in sorted({*settings.windows_hours, drift_hours}):
            outcome.results += window_results(
                judged,
                inputs,
                service=service,
                window_hours=hours,
                window_end=end,
                references=references if hours == drift_hours else None,
                business=(business or {}).get(service),
                watch=watch,
                metrics=hours in settings.windows_hours,
                min_values=settings.drift_min_values,
                no_verdict=outcome.no_verdict,
                warnings=outcome.warnings,
            )
    outcome.results += degradation_results(outcome.results)
    previous = {result_key(r): r for r in read_monitor_results(url, kind=None)}
    outcome.alerts = threshold_alerts(outcome.results, previous, settings)
    allowed = {name: quiet / timedelta(minutes=1) for name, quiet in (silence or {}).items()}
    health = silent_services(last, end, minutes=settings.service_silence_minutes, allowed=allowed)
    checked = [f"service:{s}" for s in last]
    if spool is not None:
        health += spool_alerts(spool, settings.spool_max_lines)
        checked.append("spool")
    if job_intervals:
        health += overdue_jobs(
            job_last_runs or {}, job_intervals, end, factor=settings.job_overdue_factor
        )
        checked += [f"job:{name}" for name in job_intervals]
    was = {r.service: r.value for r in read_monitor_results(url, kind="health", name="alerting")}
    new_health, health_results = _health(health, checked, was, end)
    outcome.alerts += new_health
    outcome.results += health_results
    for warning in outcome.warnings:
        log.warning("monitor %s UTC: %s", f"{end:%Y-%m-%d %H:%M}", warning)
    # The alerts first, in one transaction, then the figures they were raised on (a fault
    # between the two finds them again on the retry, and raise_alerts skips those raised),
    # then the post of every alert of the pass not delivered yet: exactly once per alert,
    # and a post cut short is made by the re-run.
    ledger = Ledger(url)
    raised = raise_alerts(outcome.alerts, ledger, at=end)
    outcome.repeated = len(outcome.alerts) - len(raised)
    outcome.alerts = raised
    store_monitor_results(url, outcome.results)
    outcome.delivery = post_alerts(ledger, settings, at=end, backoff=backoff)
    return outcome
