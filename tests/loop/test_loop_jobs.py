"""The operating loop's jobs on the tiny app: actuals, retrain, promote, overdue jobs.

The tiny app (``tests/apps/tiny``) declares what is domain-specific (how its actuals are read,
its training entry point); the jobs do the rest. Predictions are written to the ledger as
the gateway would record them, champion and challenger.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from heliograph.core import App, FixedClock, Project, init_project
from heliograph.jobs import (
    ActualsSource,
    job_health,
    promote_on_evidence,
    record_realised,
    retrain_apps,
)
from heliograph.lake import Lake, open_lake
from heliograph.ledger import (
    JobRuns,
    Ledger,
    PredictionRecord,
    PredictionWriter,
    count_predictions,
    read_actuals,
)
from heliograph.monitoring import overdue_jobs, training_reference
from heliograph.registry import Registry
from heliograph.training import TrainOutcome, train

from ..apps.tiny.app import CONFIG, PIPELINE, readings

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:mlflow.*")

SERVICE, MODEL = "meter-load", "meter-load"
START = datetime(2025, 1, 1, tzinfo=UTC)


def read_loads(lake: Lake, wanted: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """The tiny app's actuals: the meter's load at each target hour, once available."""
    rows = lake.read("meter_readings")
    rows = rows.loc[pd.to_datetime(rows["available_at"], utc=True) <= pd.Timestamp(now)]
    rows = rows.assign(target_time=pd.to_datetime(rows["timestamp"], utc=True), value=rows["load"])
    return wanted.merge(rows[["target_time", "value"]], on="target_time")


def retrain_tiny(project: Project, reason: str) -> Sequence[TrainOutcome]:
    return [train(project, PIPELINE, backtest_days=7, train_days=21, reason=reason)]


TINY = App(
    "tiny",
    "hourly meter load",
    actuals=lambda: [ActualsSource(SERVICE, read_loads)],
    retrain=retrain_tiny,
)


def tiny_project(tmp_path: Path, now: datetime, days: int = 30) -> tuple[Project, pd.DataFrame]:
    project = init_project(tmp_path / "tiny", extra=CONFIG).with_clock(FixedClock(now))
    data = readings(days=days)
    open_lake(project).ingest("meter_readings", data, origin="generated")
    return project, data


def at(project: Project, now: datetime) -> Project:
    """The project as a run scheduled for ``now`` sees it (``with_clock`` sets it in place)."""
    return copy.copy(project).with_clock(FixedClock(now))


def shadow(project: Project, loads: pd.Series, since: datetime, hours: int, errors: dict) -> None:
    """Hourly forecasts of the next hour by each (version, role) with the given error."""
    rng = np.random.default_rng(1)
    with PredictionWriter(project.ledger_url, project.state_dir / "spool") as writer:
        for i in range(hours):
            as_of = since + timedelta(hours=i)
            target = as_of + timedelta(hours=1)
            for (version, role), error in errors.items():
                value = float(loads[pd.Timestamp(target)]) + error * rng.choice([-1, 1])
                writer.submit(
                    PredictionRecord(
                        SERVICE,
                        MODEL,
                        version,
                        role,
                        f"r{i}",
                        "",
                        outputs={"p50": value},  # the point forecast, as monitoring reads it
                        latency_ms=1.0,
                        as_of=as_of,
                        target_start=target,
                        target_end=target,
                        at=as_of,
                    )
                )


def test_actuals_are_the_realised_values_known_at_the_run_recorded_once(tmp_path: Path) -> None:
    now = START + timedelta(days=10, hours=12)
    project, data = tiny_project(tmp_path, now, days=12)
    loads = data.set_index("timestamp")["load"]
    # 24 forecasts, made from 12 h before now: targets up to 12 h after now
    shadow(project, loads, now - timedelta(hours=12), 24, {("1", "champion"): 1.0})

    first = record_realised(project, [TINY])
    # the targets before now have passed and their readings are known (an hour after each)
    assert (first.wanted, first.recorded) == (11, 11)
    stored = read_actuals(project.ledger_url, SERVICE, since=START, until=now + timedelta(days=1))
    assert len(stored) == 11
    expected = loads[stored["target_time"].dt.tz_convert("UTC")].to_numpy()
    assert np.allclose(stored["value"].to_numpy(), expected)

    again = record_realised(project, [TINY])  # the same scheduled time: nothing new
    assert (again.wanted, again.recorded) == (0, 0)
    # half an hour on, the target at `now` has passed, but its reading is not known yet
    soon = record_realised(at(project, now + timedelta(minutes=30)), [TINY])
    assert (soon.wanted, soon.recorded) == (1, 0)
    later = record_realised(at(project, now + timedelta(hours=1)), [TINY])
    assert (later.wanted, later.recorded) == (1, 1)
    stored = read_actuals(project.ledger_url, SERVICE, since=START, until=now + timedelta(days=1))
    assert len(stored) == 12


def test_retrain_then_promote_on_live_evidence(tmp_path: Path) -> None:
    now = START + timedelta(days=30)
    project, data = tiny_project(tmp_path, now, days=31)
    ledger, registry = Ledger(project.ledger_url), Registry(project)

    # a first champion trained by hand on the weaker candidate alone
    train(project, PIPELINE, candidates=["yesterday"], backtest_days=7, train_days=21)
    # the run logged its features and predictions as the monitoring reference
    reference = training_reference(registry, MODEL, "1")
    assert reference is not None
    assert {"load_1d", "load_2d", "hour_sin", "hour_cos", "prediction"} <= set(reference.columns)
    decided = promote_on_evidence(project, [TINY])  # no champion: the backtest policy alone
    assert decided.promoted == [MODEL] and registry.aliases(MODEL) == {"champion": "1"}

    first = retrain_apps(project, [TINY])
    assert first.trained and first.versions == {MODEL: "2"} and "first training" in first.why
    assert retrain_apps(project, [TINY]).summary().startswith("already retrained")

    later = at(project, now + timedelta(hours=1))
    assert not retrain_apps(later, [TINY]).trained  # within the week, no alert: not due
    drift = {"alert": "drift", "name": "psi", "value": 0.5}
    # an alert about the challenger (it does not serve) is no reason to retrain
    ledger.record("alert_raised", f"{SERVICE}/{MODEL}/v2/challenger/load_1d", "drifted",
                  details=drift)  # fmt: skip
    assert not retrain_apps(later, [TINY]).trained
    # nor is the champion's interval coverage (a calibration for a person)
    coverage = {"alert": "metric", "name": "coverage_gap", "value": -0.3}
    ledger.record("alert_raised", f"{SERVICE}/{MODEL}/v1/champion", "coverage off",
                  details=coverage)  # fmt: skip
    assert not retrain_apps(later, [TINY]).trained
    ledger.record("alert_raised", f"{SERVICE}/{MODEL}/v1/champion", "drifted",
                  details=drift)  # fmt: skip
    # about the champion, while v2 shadows: v2 is the answer in progress, not replaced
    waiting = retrain_apps(later, [TINY])
    assert not waiting.trained and f"{MODEL} v2 shadows" in waiting.why
    assert registry.aliases(MODEL)["challenger"] == "2"
    registry.client.delete_registered_model_alias(MODEL, "challenger")  # v2 given up
    second = retrain_apps(later, [TINY])
    assert second.trained and second.versions == {MODEL: "3"} and "1 alert" in second.why
    assert registry.aliases(MODEL)["challenger"] == "3"

    # no shadow predictions yet, then too short a shadow: nothing decided, nothing recorded
    assert "not shadowed" in promote_on_evidence(later, [TINY]).summary()
    loads = data.set_index("timestamp")["load"]
    errors = {("1", "champion"): 6.0, ("3", "challenger"): 2.0}
    shadow(project, loads, now - timedelta(hours=60), 60, errors)
    record_realised(later, [TINY])
    short = at(project, now - timedelta(hours=50))
    assert "shadowing" in promote_on_evidence(short, [TINY]).summary()
    assert ledger.events(kind="live_verdict") == []

    outcome = promote_on_evidence(later, [TINY])
    assert outcome.promoted == [MODEL], outcome.summary()
    assert registry.aliases(MODEL) == {"champion": "3", "previous": "1"}
    (verdict,) = ledger.events(kind="live_verdict")
    assert verdict.details["accepted"] and verdict.details["challenger"] == "3"
    assert verdict.details["challenger_value"] < verdict.details["champion_value"]
    assert promote_on_evidence(later, [TINY]).summary() == "no challenger"

    # an alert about v1, judged after v3 replaced it, asks nothing of v3: not due
    after = at(project, now + timedelta(hours=2))
    ledger.record("alert_raised", f"{SERVICE}/{MODEL}/v1/champion", "drifted",
                  details=drift)  # fmt: skip
    assert not retrain_apps(after, [TINY]).trained
    ledger.record("alert_raised", f"{SERVICE}/{MODEL}/v3/champion", "drifted",
                  details=drift)  # fmt: skip
    third = retrain_apps(after, [TINY])
    assert third.trained and third.versions == {MODEL: "4"} and "1 alert" in third.why


def test_a_worse_challenger_is_refused_once_per_scheduled_time(tmp_path: Path) -> None:
    now = START + timedelta(days=30)
    project, data = tiny_project(tmp_path, now, days=31)
    registry, ledger = Registry(project), Ledger(project.ledger_url)
    train(project, PIPELINE, candidates=["yesterday"], backtest_days=7, train_days=21)
    promote_on_evidence(project, [TINY])  # v1, the first champion
    retrain_tiny(project, "by hand")  # v2, the challenger
    loads = data.set_index("timestamp")["load"]
    shadow(
        project,
        loads,
        now - timedelta(hours=60),
        60,
        {("1", "champion"): 2.0, ("2", "challenger"): 6.0},
    )
    record_realised(project, [TINY])

    refused = promote_on_evidence(project, [TINY])
    assert refused.promoted == [] and "refused on live evidence" in refused.summary()
    assert registry.aliases(MODEL) == {"champion": "1", "challenger": "2"}
    again = promote_on_evidence(project, [TINY])  # a re-run of the same interval
    assert "already decided" in again.summary()
    (event,) = ledger.events(kind="live_verdict")
    assert not event.details["accepted"] and "worse" in event.reason
    assert count_predictions(project.ledger_url) == 120


def test_the_monitor_sees_overdue_jobs_in_the_scheduler_runs(tmp_path: Path) -> None:
    now = datetime(2025, 6, 1, 12, 10, tzinfo=UTC)
    project = init_project(tmp_path / "p")
    runs = JobRuns(Ledger(project.ledger_url))
    for name, when, status in (
        ("ingest", now - timedelta(hours=5, minutes=10), "succeeded"),  # 5 h old, hourly
        ("monitor", now - timedelta(minutes=10), "succeeded"),
        ("report", now - timedelta(hours=12, minutes=10), "succeeded"),  # daily: fine
        ("snapshot", now - timedelta(minutes=10), "failed"),  # a failure is not a run
    ):
        claimed: Any = runs.claim(name, when, owner="test")
        runs.finish(claimed, status)
    last, intervals = job_health(project.ledger_url, now)
    assert last["ingest"] == now - timedelta(hours=5, minutes=10)
    assert last["snapshot"] is None and intervals["report"] == timedelta(days=1)
    alerts = overdue_jobs(
        last, intervals, now, factor=project.settings.monitoring.job_overdue_factor
    )
    assert [a.subject for a in alerts] == ["job:ingest"]

    # a retrain running for hours (its scheduler process holds its claim) is busy, not overdue;
    # once its lease runs out (its process died) it is overdue again
    runs.finish(runs.claim("retrain", now - timedelta(hours=6, minutes=10), owner="test"),
                "succeeded")  # fmt: skip
    held = runs.claim("retrain", now - timedelta(hours=3, minutes=10), owner="test",
                      lease=timedelta(seconds=1))  # fmt: skip
    assert held is not None
    last, _ = job_health(project.ledger_url, now)
    assert last["retrain"] == now
    time.sleep(1.1)
    last, _ = job_health(project.ledger_url, now)
    assert last["retrain"] == now - timedelta(hours=6, minutes=10)
    assert "job:retrain" in [a.subject for a in overdue_jobs(last, intervals, now)]


def test_a_live_win_is_not_blocked_by_an_equal_backtest_but_is_by_a_clearly_worse_one(
    tmp_path: Path,
) -> None:
    now = START + timedelta(days=30)
    project, data = tiny_project(tmp_path, now, days=31)
    registry, ledger = Registry(project), Ledger(project.ledger_url)
    loads = data.set_index("timestamp")["load"]

    def challenge(champion: str, challenger: str) -> str:
        shadow(project, loads, now - timedelta(hours=60), 60,
               {(champion, "champion"): 6.0, (challenger, "challenger"): 2.0})  # fmt: skip
        record_realised(project, [TINY])
        return promote_on_evidence(project, [TINY]).summary()

    def fit(candidate: str) -> None:
        train(project, PIPELINE, candidates=[candidate], backtest_days=7, train_days=21)

    fit("least_squares")
    promote_on_evidence(project, [TINY])  # v1, the first champion
    # v2: the same model on the same window, so the same backtest; better on the live window
    fit("least_squares")
    promoted = challenge("1", "2")
    assert registry.aliases(MODEL) == {"champion": "2", "previous": "1"}, promoted
    (equal,) = ledger.events(kind="live_verdict")
    assert equal.details["accepted"] and not equal.details["blocked_by_backtest"]
    backtest = equal.details["backtest"]
    assert backtest["accepted"] and backtest["change"] == 0.0
    assert "equal" in backtest["reasons"][-1] and "live evidence decides" in backtest["reasons"][-1]

    # v3: the weaker model, clearly worse in its backtest, better live: the backtest blocks
    fit("yesterday")
    refused = challenge("2", "3")
    assert "refused by the policy" in refused and "clearly worse" in refused
    assert registry.aliases(MODEL) == {"champion": "2", "previous": "1", "challenger": "3"}
    blocked = ledger.events(kind="live_verdict", limit=1)[0]
    assert blocked.details["challenger"] == "3" and blocked.details["accepted"]
    assert blocked.details["blocked_by_backtest"] and "blocked by the backtest" in blocked.reason
    assert blocked.details["backtest"]["change"] > project.settings.policy.min_margin
    (refusal,) = ledger.events(kind="promotion_refused")
    assert "clearly worse" in refusal.reason


def test_a_service_asked_once_a_day_is_not_called_silent_within_its_day(tmp_path: Path) -> None:
    """The monitor job reads each app service's ``max_silence``: the energy app's
    battery-schedule, asked once a day, is quiet for 20 hours without a health alert, while
    a service without one is silent after ``service_silence_minutes`` (90)."""
    from heliograph.jobs import monitor

    now = datetime(2025, 6, 2, 6, 0, tzinfo=UTC)
    project = init_project(tmp_path / "p").with_clock(FixedClock(now))
    with PredictionWriter(project.ledger_url, project.state_dir / "spool") as writer:
        for i, (service, hours) in enumerate((("battery-schedule", 20), (SERVICE, 3))):
            when = now - timedelta(hours=hours)
            writer.submit(
                PredictionRecord(service, MODEL, "1", "champion", f"q{i}", "",
                                 outputs={"p50": 1.0}, latency_ms=1.0, as_of=when,
                                 target_start=when, target_end=when, at=when)
            )  # fmt: skip
    outcome = monitor(project)
    silent = [a.subject for a in outcome.alerts if a.name == "silent"]
    assert silent == [f"service:{SERVICE}"], [a.reason for a in outcome.alerts]
