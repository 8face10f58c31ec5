"""A monitoring pass over a ledger: stored per version and window, alerts once, idempotent; and
the ``monitor`` job on a project."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from heliograph.core import FixedClock, MonitoringSettings, init_project
from heliograph.jobs import JOBS, run_job
from heliograph.ledger import (
    Actual,
    Ledger,
    PredictionRecord,
    PredictionWriter,
    read_monitor_results,
    record_actuals,
)
from heliograph.monitoring import BusinessMetric, run_monitor

T0 = datetime(2025, 6, 1, tzinfo=UTC)
HALF = timedelta(minutes=30)
NOW = T0 + timedelta(hours=24)


def fill_ledger(url: str, spool: Path, *, load_shift: float) -> None:
    """24 h of half-hourly forecasts (4 periods each) by a champion and a challenger."""
    rng = np.random.default_rng(0)
    records: list[PredictionRecord] = []
    actuals: dict[datetime, float] = {}
    for i in range(48):
        as_of = T0 + i * HALF
        targets = [as_of + (k + 1) * HALF for k in range(4)]
        for t in targets:
            actuals.setdefault(t, float(rng.normal(60, 10)))
        for version, role, error in (("3", "champion", 5.0), ("4", "challenger", 2.0)):
            p50 = [actuals[t] + error * rng.choice([-1, 1]) for t in targets]
            load = rng.normal(100 + load_shift, 10, 4).tolist()
            records.append(
                PredictionRecord(
                    "price-forecast",
                    "energy-price-GB",
                    version,
                    role,
                    f"r{i}",
                    "h",
                    {"p10": [v - 8 for v in p50], "p50": p50, "p90": [v + 8 for v in p50]},
                    1.0,
                    inputs={"columns": ["load"], "data": [[x] for x in load]},
                    as_of=as_of,
                    target_start=targets[0],
                    target_end=targets[-1],
                    at=as_of,
                )
            )
    record_actuals(
        url, [Actual("price-forecast", "energy-price-GB", t, v) for t, v in actuals.items()]
    )
    with PredictionWriter(url, spool) as writer:
        for record in records:
            writer.submit(record)


def reference(name: str, version: str) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    predictions = rng.normal(60, 10, 2000) + rng.choice([-1, 1], 2000) * 3.5  # as the live ones
    return pd.DataFrame({"load": rng.normal(100, 10, 2000), "prediction": predictions})


def test_a_pass_stores_each_version_and_window_and_alerts_once(tmp_path: Path, webhook) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    fill_ledger(url, tmp_path / "spool", load_shift=15.0)
    settings = MonitoringSettings(
        windows_hours=[6.0, 24.0],
        drift_window_hours=24.0,
        webhook_url=webhook.url,
        drift_min_values=10,
    )
    over = BusinessMetric(
        "price-forecast", "overforecast", lambda rows: float((rows["p50"] > rows["actual"]).mean())
    )
    outcome = run_monitor(
        url,
        now=NOW,
        settings=settings,
        references=reference,
        business={"price-forecast": over},
        backoff=0,
    )
    mae = {
        (r.model_version, r.window_hours): r
        for r in read_monitor_results(url, name="mae", kind="metric")
    }
    assert set(mae) == {("3", 6.0), ("3", 24.0), ("4", 6.0), ("4", 24.0)}
    assert mae[("3", 24.0)].value == pytest.approx(5.0) and mae[("4", 24.0)].value == pytest.approx(
        2.0
    )
    assert mae[("3", 6.0)].count == 12 * 4  # 12 targets in the last 6 h, each forecast 4 times
    assert {r.feature for r in read_monitor_results(url, kind="drift", name="psi")} == {
        "load",
        "prediction",
    }
    assert read_monitor_results(url, name="overforecast")[0].value is not None
    # the load moved by 1.5 standard deviations: one drift alert per version, naming it first
    drifted = {a.subject: a for a in outcome.alerts if a.kind == "drift"}
    assert set(drifted) == {
        "price-forecast/energy-price-GB/v3/champion",
        "price-forecast/energy-price-GB/v4/challenger",
    }
    assert drifted["price-forecast/energy-price-GB/v3/champion"].features[0] == "load"
    # the predictions did not move: over the 24 h window (192 values a version) no figure is
    # over; the 6 h window's 48 values are too few to tell (PSI's noise alone is ~0.2 there)
    assert all(
        (r.value or 0) <= 0.2
        for r in outcome.results
        if r.feature == "prediction" and r.window_hours == 24.0 and r.name in ("psi", "ks")
    )
    assert len(webhook.received) == 1 and "load (" in webhook.received[0]["text"]
    raised = Ledger(url).events(kind="alert_raised", limit=1000)
    assert len(raised) == len(outcome.alerts)
    # the events carry the pass's time on the project's clock, not the wall clock's
    assert {e.at for e in raised} == {NOW}

    engine = sa.create_engine(url)
    with engine.connect() as con:
        rows = con.exec_driver_sql("SELECT count(*) FROM monitor_results").scalar()
    again = run_monitor(url, now=NOW, settings=settings, references=reference, backoff=0)
    with engine.connect() as con:
        assert con.exec_driver_sql("SELECT count(*) FROM monitor_results").scalar() == rows
    engine.dispose()
    assert again.alerts == [] and len(webhook.received) == 1


def test_only_the_watched_features_drift_the_app_declares_or_helio_toml_says(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    fill_ledger(url, tmp_path / "spool", load_shift=15.0)
    settings = MonitoringSettings(windows_hours=[24.0], min_judged=10, drift_min_values=10)
    declared = {"price-forecast": ("*", "!load")}  # as an app declares: all but the load
    outcome = run_monitor(url, now=NOW, settings=settings, references=reference, watched=declared)
    assert {r.feature for r in outcome.results if r.kind == "drift"} == {"prediction"}
    assert [a for a in outcome.alerts if a.kind == "drift"] == []  # the load is not watched
    # [monitoring] watch wins over what the app declares
    toml = MonitoringSettings(
        windows_hours=[24.0], drift_min_values=10, watch={"price-forecast": ["lo*"]}
    )
    later = run_monitor(url, now=NOW + HALF, settings=toml, references=reference, watched=declared)
    assert {r.feature for r in later.results if r.kind == "drift"} == {"load"}
    assert {a.features for a in later.alerts if a.kind == "drift"} == {("load",)}


def test_a_watch_key_or_pattern_that_watches_nothing_is_said_and_the_pass_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    fill_ledger(url, tmp_path / "spool", load_shift=15.0)
    settings = MonitoringSettings(
        windows_hours=[24.0],
        drift_min_values=10,
        watch={"price-forcast": ["load"], "price-forecast": ["lod", "prediction", "!doy"]},
    )
    declared = {"battery-shedule": ("load",)}  # an app's own typo
    with caplog.at_level("WARNING", logger="heliograph"):
        outcome = run_monitor(
            url, now=NOW, settings=settings, references=reference, watched=declared
        )
    assert outcome.warnings == [
        "watch: service 'price-forcast' in [monitoring] watch is not a known service (known: "
        "price-forecast); a key names a service with predictions in the ledger or declared by "
        "an app",
        "watch: service 'battery-shedule' in an app's watched_features is not a known service "
        "(known: price-forecast); a key names a service with predictions in the ledger or "
        "declared by an app",
        "watch: pattern 'lod' for service 'price-forecast' matches no column of the training "
        "reference of energy-price-GB v3 (2 columns: load, prediction); a pattern watches the "
        "columns it matches",
    ]
    # the pass went on: what the patterns do match is watched
    assert {r.feature for r in outcome.results if r.kind == "drift"} == {"prediction"}
    head, *lines = outcome.summary().splitlines()
    assert head.endswith("; 3 watch warnings") and lines == outcome.warnings
    assert [r.getMessage().split(": ", 1)[1] for r in caplog.records] == outcome.warnings
    # a service the apps declare (a business metric) is known before it has answered
    known = run_monitor(
        url,
        now=NOW,
        settings=MonitoringSettings(windows_hours=[24.0], watch={"battery-schedule": ["*"]}),
        business={"battery-schedule": BusinessMetric("battery-schedule", "v", lambda r: 0.0)},
    )
    assert known.warnings == []
    # a version whose reference is its predictions alone compares no feature: nothing to say
    alone = run_monitor(
        url,
        now=NOW,
        settings=MonitoringSettings(windows_hours=[24.0], watch={"price-forecast": ["lod"]}),
        references=lambda name, version: reference(name, version)[["prediction"]],
    )
    assert alone.warnings == []


def test_drift_has_its_own_window_and_no_verdict_on_too_small_a_sample(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    fill_ledger(url, tmp_path / "spool", load_shift=15.0)
    settings = MonitoringSettings(
        windows_hours=[6.0, 24.0], drift_window_hours=12.0, drift_min_values=10
    )
    outcome = run_monitor(url, now=NOW, settings=settings, references=reference)
    drift = [r for r in outcome.results if r.kind == "drift"]
    assert {r.window_hours for r in drift} == {12.0}  # drift over its window only
    assert {r.window_hours for r in outcome.results if r.kind == "metric"} == {6.0, 24.0}
    # stored with its sample: 24 questions of 4 rows in 12 h, each row distinct
    load = [r for r in drift if r.feature == "load" and r.model_version == "3"]
    assert load and {r.count for r in load} == {96}
    assert {a.features[0] for a in outcome.alerts if a.kind == "drift"} == {"load"}
    assert outcome.no_verdict == []

    # a sample smaller than drift_min_values: no figure, no alert, and the pass says why
    strict = MonitoringSettings(windows_hours=[24.0], drift_window_hours=2.0, drift_min_values=20)
    later = run_monitor(url, now=NOW + HALF, settings=strict, references=reference)
    assert [r for r in later.results if r.kind == "drift"] == []
    assert [a for a in later.alerts if a.kind == "drift"] == []
    assert len(later.no_verdict) == 2, later.no_verdict
    champion = next(n for n in later.no_verdict if "/v3/champion" in n)
    assert "12 distinct input rows" in champion and "fewer than 20" in champion  # 3 questions
    assert "4 predicted targets" in champion  # the targets of the window, once each
    assert "no drift verdict for 2" in later.summary()


def test_the_monitor_job_runs_on_a_project(tmp_path: Path) -> None:
    project = init_project(tmp_path / "demo", name="demo").with_clock(FixedClock(NOW))
    fill_ledger(project.ledger_url, tmp_path / "spool", load_shift=0.0)
    assert "monitor" in JOBS
    outcome = run_job(project, "monitor")
    assert outcome.window_end == NOW
    # the versions are not in the registry: no reference, no drift, metrics still stored
    assert {r.kind for r in outcome.results} == {"metric", "health"}


def test_the_monitor_job_says_a_watch_key_names_no_service(tmp_path: Path) -> None:
    project = init_project(
        tmp_path / "demo", name="demo", settings={"monitoring": {"watch": {"price-forcast": ["*"]}}}
    ).with_clock(FixedClock(NOW))
    fill_ledger(project.ledger_url, tmp_path / "spool", load_shift=0.0)
    lines = JOBS["monitor"].lines(run_job(project, "monitor"))
    assert lines[0].endswith("; 1 watch warning")
    assert lines[1].startswith(
        "watch: service 'price-forcast' in [monitoring] watch is not a known service (known: "
    )
    assert "price-forecast" in lines[1]
