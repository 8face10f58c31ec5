"""The dashboard's data functions on a temporary project, without a browser: what each page
shows, from predictions, actuals, monitor results and events written as the jobs write them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from heliograph.core import FixedClock, Project, UsageError, init_project
from heliograph.dashboard import (
    HINTS,
    check_binding,
    dashboard_command,
    drift,
    drift_history,
    events,
    forecast,
    forecast_chart,
    lineage_of,
    live_metrics,
    models_of,
    overview,
    password_ok,
    services_of,
    verdicts,
)
from heliograph.ledger import (
    Actual,
    Ledger,
    MonitorResult,
    PredictionRecord,
    PredictionWriter,
    record_actuals,
    sampled_predictions,
    store_monitor_results,
)

SERVICE, MODEL = "price-forecast", "energy-price-GB"
NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return init_project(tmp_path / "p", name="board").with_clock(FixedClock(NOW))


def _forecasts(project: Project, hours: int = 24) -> None:
    """Hourly forecasts of the next 4 hours by both roles; the challenger is 2 higher."""
    with PredictionWriter(project.ledger_url, project.state_dir / "spool") as writer:
        for h in range(hours, 0, -1):
            made = NOW - timedelta(hours=h)
            for role, version, bias in (("champion", "1", 0.0), ("challenger", "2", 2.0)):
                base = [float(h * 10 + i) + bias for i in range(4)]
                writer.submit(
                    PredictionRecord(
                        SERVICE,
                        MODEL,
                        version,
                        role,
                        f"req-{h}",
                        "",
                        {"p10": [b - 5 for b in base], "p50": base, "p90": [b + 5 for b in base]},
                        1.0,
                        as_of=made,
                        target_start=made + timedelta(hours=1),
                        target_end=made + timedelta(hours=4),
                        at=made + timedelta(seconds=5),
                    )
                )
    actuals = [Actual(SERVICE, MODEL, NOW - timedelta(hours=h), 100.0 + h) for h in range(30)]
    record_actuals(project.ledger_url, actuals)


def _monitor(project: Project, passes: int = 3) -> None:
    results = []
    for p in range(passes):
        end = NOW - timedelta(hours=passes - 1 - p)
        for role, version, mae in (("champion", "1", 5.0), ("challenger", "2", 4.0)):
            results += [
                MonitorResult(
                    SERVICE, MODEL, version, role, 24.0, end, "metric", "mae", "", mae + p, 100
                ),
                MonitorResult(
                    SERVICE,
                    MODEL,
                    version,
                    role,
                    project.settings.monitoring.drift_window_hours,  # drift's own window
                    end,
                    "drift",
                    "psi",
                    "load",
                    0.05 if role == "champion" else 0.4,
                    100,
                ),
                MonitorResult(
                    SERVICE, MODEL, version, role, 168.0, end, "metric", "mae", "", mae, 500
                ),
            ]
        results.append(
            MonitorResult(
                f"service:{SERVICE}", "", "", "", 0.0, end, "health", "alerting", "", 0.0, 1
            )
        )
        results.append(
            MonitorResult("job:predict", "", "", "", 0.0, end, "health", "alerting", "", 1.0, 1)
        )
    store_monitor_results(project.ledger_url, results)


def test_empty_project_every_page_has_a_hint_not_an_error(project: Project) -> None:
    assert services_of(project) == {}
    view = overview(project)
    assert view.aliases.empty and view.health.empty and view.alerts.empty
    assert forecast(project, SERVICE, MODEL).empty
    assert live_metrics(project, SERVICE).empty and drift(project, SERVICE).empty
    assert verdicts(project, SERVICE) == [] and models_of(project, SERVICE) == []
    assert events(project).empty
    assert "helio job run monitor" in HINTS["services"]
    assert all(hint.strip() for hint in HINTS.values())


def test_overview_names_who_holds_each_alias_since_when_and_what_alerts(
    project: Project,
) -> None:
    _monitor(project)
    ledger = Ledger(project.ledger_url)
    moved = [
        ("champion", None, "1", "first"),
        ("challenger", None, "2", "new"),
        ("champion", "1", "2", "better live"),
        ("previous", None, "1", "rolled"),
    ]
    for alias, before, after, why in moved:
        ledger.record(
            "alias_moved",
            f"model/{MODEL}",
            f"{alias}: {before or '-'} → {after}: {why}",
            details={"alias": alias, "from": before, "to": after},
        )
    ledger.record("alert_raised", "job:predict", "job predict is overdue")
    view = overview(project)
    held = {row.alias: (row.version, row.reason, row.service) for row in view.aliases.itertuples()}
    assert held == {
        "champion": ("2", "better live", SERVICE),
        "challenger": ("2", "new", SERVICE),
        "previous": ("1", "rolled", SERVICE),
    }
    health = dict(zip(view.health["subject"], view.health["alerting"], strict=True))
    assert health == {f"service:{SERVICE}": False, "job:predict": True}
    assert view.alerts["reason"].tolist() == ["job predict is overdue"]


def test_forecast_shows_for_each_target_the_newest_forecast_made_before_it(
    project: Project,
) -> None:
    _forecasts(project)
    frame = forecast(project, SERVICE, MODEL, hours=12)
    assert set(frame["role"]) == {"champion", "challenger"}
    assert (frame["as_of"] <= frame["target_time"]).all()  # never a forecast made after it
    champion = frame[frame["role"] == "champion"].set_index("target_time")
    target = pd.Timestamp(NOW - timedelta(hours=2))
    # made 1 h before (h=3, first period) and 2 h, 3 h before: the newest, 1 h ahead, wins
    assert champion.loc[target, "p50"] == 30.0
    assert champion.loc[target, "actual"] == 102.0
    assert champion.index.is_unique
    assert frame["target_time"].min() >= pd.Timestamp(NOW - timedelta(hours=12))
    assert frame["target_time"].max() > pd.Timestamp(NOW)  # the newest forecast, ahead
    chart = forecast_chart(frame, NOW).to_dict()
    assert [layer["mark"]["type"] for layer in chart["layer"]] == ["area", "line", "circle", "rule"]


def test_forecast_reads_one_record_per_hour_and_role(project: Project) -> None:
    _forecasts(project)
    records = sampled_predictions(
        project.ledger_url, SERVICE, model_name=MODEL, since=NOW - timedelta(hours=6), until=NOW
    )
    assert len(records) == 12
    assert [r.at for r in records[::2]] == [
        NOW - timedelta(hours=h, seconds=-5) for h in range(6, 0, -1)
    ]


def test_live_metrics_history_and_the_policy_standing(project: Project) -> None:
    _monitor(project)
    frame = live_metrics(project, SERVICE)
    assert set(frame["window_hours"]) == {24.0}  # the shortest window
    champion = frame[frame["role"] == "champion"].sort_values("window_end")
    assert champion["value"].tolist() == [5.0, 6.0, 7.0]
    assert models_of(project, SERVICE) == [MODEL]
    (verdict,) = verdicts(project, SERVICE)
    assert (verdict.champion_value, verdict.challenger_value) == (5.0, 4.0)  # the 168 h window
    assert verdict.decision == "" and "-20.0%" in verdict.standing and "better" in verdict.standing
    Ledger(project.ledger_url).record(
        "live_verdict", f"model/{MODEL}", "refused: shadowed 3 h, the policy needs 24 h"
    )
    (verdict,) = verdicts(project, SERVICE)
    assert verdict.decision.startswith("refused: shadowed 3 h")


def test_drift_carries_the_configured_threshold(project: Project) -> None:
    _monitor(project)
    frame = drift(project, SERVICE)
    over = dict(zip(frame["role"], frame["over"], strict=True))
    assert over == {"champion": False, "challenger": True}
    assert set(frame["threshold"]) == {project.settings.monitoring.psi}


def test_drift_history_is_one_models_version_when_markets_share_numbers(project: Project) -> None:
    _monitor(project)  # energy-price-GB v1 champion, psi of "load" 0.05 at each pass
    other = [
        MonitorResult(
            SERVICE,
            "energy-price-DE",
            "1",
            "champion",
            project.settings.monitoring.drift_window_hours,
            NOW - timedelta(hours=h),
            "drift",
            "psi",
            "load",
            0.9,
            100,
        )
        for h in range(3)
    ]
    store_monitor_results(project.ledger_url, other)
    one = {"model_version": "1", "role": "champion"}
    gb = drift_history(project, SERVICE, "psi", ["load"], model_name=MODEL, **one)
    assert list(gb["value"]) == [0.05, 0.05, 0.05] and set(gb["model_name"]) == {MODEL}
    assert gb["window_end"].is_monotonic_increasing
    both = drift_history(project, SERVICE, "psi", ["load"], **one)
    assert sorted(set(both["model_name"])) == ["energy-price-DE", MODEL] and len(both) == 6
    assert drift_history(project, SERVICE, "psi", [], **one).empty


def test_timeline_keeps_rare_events_beside_a_flood_of_alerts(project: Project) -> None:
    ledger = Ledger(project.ledger_url)
    ledger.record("alias_moved", f"model/{MODEL}", "champion: - → 1: first", details={})
    for i in range(120):
        ledger.record("alert_raised", f"f{i}", "drifted")
    ledger.record("snapshot_taken", "energy_prices@abc", "daily")  # routine: not shown
    frame = events(project, per_kind=50)
    assert frame["kind"].value_counts().to_dict() == {"alert_raised": 50, "alias_moved": 1}
    assert frame["at"].is_monotonic_decreasing


def test_lineage_of_an_unknown_id_is_a_sentence(project: Project) -> None:
    with pytest.raises(UsageError, match="no prediction with record or request id"):
        lineage_of(project, "nope")


def test_binding_beyond_loopback_needs_a_password(project: Project) -> None:
    check_binding("127.0.0.1", "")
    check_binding("localhost", "")
    check_binding("::1", "")
    with pytest.raises(UsageError) as refused:
        check_binding("0.0.0.0", "")
    assert refused.value.field == "dashboard.password"
    check_binding("0.0.0.0", "s3cret")
    command = dashboard_command(project, host="127.0.0.1", port=8599)
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    assert command[-2:] == ["--project", str(project.root)]
    assert password_ok(None, "") and password_ok("s3cret", "s3cret")
    assert not password_ok("s3cre", "s3cret") and not password_ok(None, "s3cret")


def test_a_configured_secret_in_an_event_or_alert_is_shown_as_stars(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = "https://hooks.example/T0/s3cr3t-token"
    monkeypatch.setenv("HELIO_MONITORING__WEBHOOK_URL", hook)
    secret = init_project(tmp_path / "s", name="board").with_clock(FixedClock(NOW))
    ledger = Ledger(secret.ledger_url)
    ledger.record("alert_undelivered", "alert/1", f"POST {hook} failed: timeout")
    ledger.record("alert_raised", "drift/load", f"drifted; told {hook}")
    shown = " ".join(events(secret)["reason"]) + " ".join(overview(secret).alerts["reason"])
    assert "s3cr3t-token" not in shown and shown.count("***") == 3  # timeline 2, overview 1
