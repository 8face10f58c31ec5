"""The operating loop's causal chain, in process: a regime shift, a drift alert caused by it on
the watched features only, a retrain, a challenger shadowing, a promotion on live evidence.

The real jobs (``actuals``, ``monitor``, ``retrain``, ``promote``) run through the scheduler on
a fixed clock moved forward four hours a tick, on the tiny app's data with a level shift of
+100 on day 33; its models are trained and registered for real, their training references
logged. What the gateway would record is written for each hour by hand: the features of each
question (as the tiny app computes them) and a forecast per version holding an alias, the
champion's stuck on the level before the shift (what a shift does to a model fitted before
it), the challenger's following it. A tick a few simulated days long, about a minute.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from heliograph.core import App, FixedClock, init_project
from heliograph.jobs import ActualsSource
from heliograph.lake import open_lake
from heliograph.ledger import Ledger, PredictionRecord, PredictionWriter, read_monitor_results
from heliograph.registry import CHALLENGER, CHAMPION, Registry
from heliograph.scheduler import Scheduler
from heliograph.training import TrainOutcome, train

from ..apps.tiny.app import CONFIG, PIPELINE, readings
from .test_loop_jobs import MODEL, SERVICE, START, read_loads, retrain_tiny

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:mlflow.*")

SHIFT = START + timedelta(days=33)
BEGIN = SHIFT - timedelta(hours=36)
STEP = timedelta(hours=4)


def retrain(project, reason: str) -> Sequence[TrainOutcome]:  # type: ignore[no-untyped-def]
    """As the energy app: the quick baseline first, every candidate once there is a champion
    (the registry's policy still compares their backtests: a clearly worse one would block)."""
    registry = Registry(project)
    if MODEL in registry.models() and CHAMPION in registry.aliases(MODEL):
        return retrain_tiny(project, reason)
    return [train(project, PIPELINE, candidates=["yesterday"], backtest_days=7, train_days=21,
                  reason=reason)]  # fmt: skip


LOOP = App(
    "tiny",
    "hourly meter load",
    actuals=lambda: [ActualsSource(SERVICE, read_loads)],
    retrain=retrain,
    watched_features={SERVICE: ("*", "!hour_*")},  # the hour of the day is its calendar
)


def features(loads: pd.Series, target: pd.Timestamp) -> list[float]:
    """The tiny app's inputs of a forecast for ``target``: the load 1 and 2 days before, the
    hour as a circle."""
    angle = 2 * np.pi * target.hour / 24
    day = pd.Timedelta(days=1)
    return [loads[target - day], loads[target - 2 * day], np.sin(angle), np.cos(angle)]


def answer(project, loads: pd.Series, at: pd.Timestamp, roles: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """The hour ``at``'s question (the next hour), answered by each version holding a role."""
    rng = np.random.default_rng(int(at.timestamp()))
    target = at + pd.Timedelta(hours=1)
    actual = float(loads[target])
    stuck = actual - (100.0 if target >= SHIFT else 0.0)  # the level before the shift
    inputs = {"columns": ["load_1d", "load_2d", "hour_sin", "hour_cos"],
              "data": [features(loads, target)]}  # fmt: skip
    with PredictionWriter(project.ledger_url, project.state_dir / "spool") as writer:
        for role, version in roles.items():
            value = (stuck if role == CHAMPION else actual) + 3.0 * rng.choice([-1, 1])
            writer.submit(
                PredictionRecord(SERVICE, MODEL, version, role, f"r{at:%d%H}", "",
                                 outputs={"p50": value}, latency_ms=1.0, inputs=inputs,
                                 as_of=at.to_pydatetime(), target_start=target.to_pydatetime(),
                                 target_end=target.to_pydatetime(), at=at.to_pydatetime())
            )  # fmt: skip


def test_a_regime_shift_is_detected_retrained_for_and_its_challenger_promoted(
    tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    # helio.toml's thresholds, for a window of 24 hourly questions (a day's level moves a
    # single day's sample ~1 standard deviation; the shift moves it ~6)
    for key, value in {"MIN_JUDGED": "20", "MIN_SHADOW_HOURS": "12", "KS": "0.7",
                       "WASSERSTEIN": "2.0", "PSI": "50", "DEGRADATION": "0"}.items():  # fmt: skip
        monkeypatch.setenv(f"HELIO_MONITORING__{key}", value)
    for module in ("_actuals", "_monitor", "_retrain", "_promote"):
        monkeypatch.setattr(f"heliograph.jobs.{module}.load_apps", lambda: [LOOP])
    clock = FixedClock(BEGIN)
    project = init_project(tmp_path / "tiny", extra=CONFIG).with_clock(clock)
    data = readings(days=40)
    data.loc[data["timestamp"] >= SHIFT, "load"] += 100.0
    lake, known = open_lake(project), pd.Timestamp(START)

    def arrive() -> None:  # what became known by the clock's now, as ingest would bring it
        nonlocal known
        now = pd.Timestamp(clock.now())
        new = data[(data["available_at"] > known) & (data["available_at"] <= now)]
        lake.ingest("meter_readings", new, origin="generated")
        known = now

    loads = data.set_index("timestamp")["load"]
    ledger, registry = Ledger(project.ledger_url), Registry(project)
    scheduler = Scheduler(project, ["actuals", "monitor", "retrain", "promote"], clock=clock)

    promoted_at = None
    while clock.now() < SHIFT + timedelta(days=4) and promoted_at is None:
        arrive()
        for outcome in scheduler.tick():
            assert outcome.status == "succeeded", outcome.line()
        roles = {r: v for r, v in registry.aliases(MODEL).items() if r in (CHAMPION, CHALLENGER)}
        for hour in range(int(STEP / timedelta(hours=1))):
            answer(project, loads, pd.Timestamp(clock.now()) + pd.Timedelta(hours=hour), roles)
        if registry.aliases(MODEL).get(CHAMPION) not in (None, "1"):
            promoted_at = clock.now()
        clock.advance(STEP)

    events = list(reversed(ledger.events(limit=5000)))  # oldest first
    kinds = [e.kind for e in events]
    assert promoted_at is not None, [(e.kind, e.subject, e.reason[:80]) for e in events]
    # the first champion, then nothing drifted until the shift
    first = kinds.index("retrained")
    assert "first training" in events[first].reason
    alerts = [e for e in events if e.kind == "alert_raised" and e.details["alert"] == "drift"]
    assert alerts and all(e.at > SHIFT for e in alerts), [(e.at, e.reason) for e in alerts]
    # one drift alert per version and pass, on the watched features only
    assert len({(e.subject, e.at) for e in alerts}) == len(alerts)
    drift = alerts[0]
    assert drift.subject == f"{SERVICE}/{MODEL}/v1/{CHAMPION}"
    assert set(drift.details["features"]) <= {"load_1d", "load_2d", "prediction"}
    assert "load_1d" in drift.details["features"]
    stored = {r.feature for r in read_monitor_results(project.ledger_url, kind="drift")}
    assert stored and not any(f.startswith("hour_") for f in stored)
    # the retrain it caused, a challenger that shadowed, then the promotion with its reasons
    retrains = [e for e in events if e.kind == "retrained"]
    assert len(retrains) == 2 and retrains[1].id > drift.id
    assert "drifted" in retrains[1].reason and retrains[1].details["versions"] == {MODEL: "2"}
    (verdict,) = ledger.events(kind="live_verdict")
    assert verdict.id > retrains[1].id and verdict.details["accepted"], verdict.reason
    assert (verdict.details["challenger"], verdict.details["champion"]) == ("2", "1")
    assert verdict.details["judged"] >= 20
    assert verdict.details["challenger_value"] < verdict.details["champion_value"] / 5
    assert any("shared judged predictions" in r for r in verdict.details["reasons"])
    assert registry.aliases(MODEL)[CHAMPION] == "2"
    moved = [e for e in events if e.kind == "alias_moved" and e.id > verdict.id
             and e.details["alias"] == CHAMPION]  # fmt: skip
    assert moved and "live evidence" in moved[0].reason
    # it waited out the shadow: the verdict came at least min_shadow_hours after the retrain
    retrained_for = pd.Timestamp(retrains[1].details["scheduled_for"])
    assert promoted_at - retrained_for >= timedelta(hours=12)
