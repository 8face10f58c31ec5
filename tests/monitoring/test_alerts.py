"""Alerts: thresholds crossed (once), events, the webhook against a local HTTP server, and the
health checks (spool, overdue jobs, silent services)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from heliograph.core import MonitoringSettings
from heliograph.ledger import Ledger, LedgerError, MonitorResult
from heliograph.monitoring import (
    DEGRADATION,
    degradation_results,
    deliver_alerts,
    overdue_jobs,
    post_webhook,
    result_key,
    silent_services,
    spool_alerts,
    threshold_alerts,
)

T0 = datetime(2025, 6, 1, 12, tzinfo=UTC)


def drift(
    value: float, end: datetime = T0, name: str = "psi", feature: str = "load", version: str = "3"
) -> MonitorResult:
    return MonitorResult(
        "price-forecast",
        "energy-price-GB",
        version,
        "champion",
        24.0,
        end,
        "drift",
        name,
        feature,
        value,
        480,
    )


def test_a_threshold_alerts_when_crossed_not_while_it_stays_over() -> None:
    settings = MonitoringSettings(psi=0.2)
    assert threshold_alerts([drift(0.1)], {}, settings) == []
    [alert] = threshold_alerts([drift(0.31)], {}, settings)
    assert alert.subject == "price-forecast/energy-price-GB/v3/champion"
    assert alert.features == ("load",)
    assert alert.reason == (
        "1 feature drifted to 2025-06-01 12:00 UTC: load (psi 0.31 > 0.2, 24 h; newly over: psi)"
    )
    previous = {result_key(drift(0.31)): drift(0.31)}
    assert threshold_alerts([drift(0.4, T0 + timedelta(hours=1))], previous, settings) == []
    back = {result_key(drift(0.1)): drift(0.1)}
    assert len(threshold_alerts([drift(0.4)], back, settings)) == 1


def test_drift_is_one_alert_per_version_and_pass_naming_its_features_worst_first() -> None:
    settings = MonitoringSettings(psi=0.2, ks=0.2)
    results = [
        drift(0.1, feature="solar"),  # under: not named
        drift(0.3, feature="load"),
        drift(0.9, name="ks", feature="load"),  # load's worst figure, relative to its limit
        drift(2.0, feature="price_lag_1d"),
        drift(0.5, feature="prediction"),
        drift(0.25, feature="wind", version="4"),
        *[drift(0.21 + i / 100, feature=f"price_d1_h{i:02d}") for i in range(6)],
    ]
    alerts = threshold_alerts(results, {}, settings)
    assert [a.subject.rsplit("/", 2)[-2] for a in alerts] == ["v3", "v4"]
    three, four = alerts
    assert three.features[:3] == ("price_lag_1d", "load", "prediction")
    assert len(three.features) == 9 and "solar" not in three.features
    assert (three.name, three.value, three.threshold) == ("psi", 2.0, 0.2)
    # features counted as features, the statistics over a threshold named as statistics
    assert three.reason.startswith(
        "9 features drifted to 2025-06-01 12:00 UTC: "
        "price_lag_1d (psi 2 > 0.2, 24 h; newly over: psi), "
        "load (ks 0.9 > 0.2, 24 h; newly over: psi, ks), "
    )
    assert three.reason.endswith(" and 4 more")  # all 9 are new: none named twice
    assert four.features == ("wind",)
    # the next pass: v3's figures all still over, one more feature over: one alert again
    later = T0 + timedelta(hours=1)
    previous = {result_key(r): r for r in results}
    again = [drift(r.value or 0, later, r.name, r.feature, r.model_version) for r in results]
    assert threshold_alerts(again, previous, settings) == []
    again.append(drift(0.4, later, feature="demand"))
    [more] = threshold_alerts(again, previous, settings)
    assert more.subject.endswith("/v3/champion") and len(more.features) == 10
    assert more.reason.startswith("10 features drifted (1 newly) to 2025-06-01 13:00 UTC: ")
    assert "demand (psi 0.4 > 0.2, 24 h; newly over: psi)" in more.reason
    assert "load (ks 0.9 > 0.2, 24 h)," in more.reason  # over already: nothing new about it
    # a feature newly over but not among the five named is still named as new
    again.append(drift(0.201, later, feature="zeta"))
    [last] = threshold_alerts(again, previous, settings)
    assert last.reason.startswith("11 features drifted (2 newly) to ")
    assert last.reason.endswith(" and 6 more (newly: zeta)")


def test_coverage_alerts_only_with_enough_judged_predictions() -> None:
    settings = MonitoringSettings(coverage_tolerance=0.1, min_judged=50)

    def gap(value: float, count: int) -> MonitorResult:
        return MonitorResult(
            "s", "m", "1", "champion", 24.0, T0, "metric", "coverage_gap", "", value, count
        )

    assert threshold_alerts([gap(-0.3, 10)], {}, settings) == []
    [alert] = threshold_alerts([gap(-0.3, 60)], {}, settings)
    assert "-0.300" in alert.reason


def test_a_champion_whose_recent_mae_is_much_worse_raises_a_degradation_alert() -> None:
    settings = MonitoringSettings(degradation=0.5, min_judged=48)

    def mae(hours: float, value: float, version: str = "1") -> MonitorResult:
        return MonitorResult(
            "s", "m", version, "champion", hours, T0, "metric", "mae", "", value, 96
        )

    def mae_n(hours: float, value: float, count: int, version: str) -> MonitorResult:
        return MonitorResult(
            "s", "m", version, "champion", hours, T0, "metric", "mae", "", value, count
        )

    # v1: 12 over the last day, 6 over the week holding it: 4 over the six days before it,
    # three times as bad now (a regime shift); v2: steady, better; v3: a day old, nothing
    # before its last day to compare with
    results = [
        mae_n(24.0, 12.0, 96, "1"),
        mae_n(168.0, 6.0, 384, "1"),
        mae_n(24.0, 5.0, 96, "2"),
        mae_n(168.0, 6.0, 384, "2"),
        mae_n(24.0, 9.0, 96, "3"),
        mae_n(168.0, 9.0, 96, "3"),
    ]
    figures = degradation_results(results)
    assert [(r.model_version, round(r.value or 0, 3), r.count) for r in figures] == [
        ("1", 2.0, 96),
        ("2", -0.211, 96),
    ]
    assert {(r.name, r.window_hours) for r in figures} == {(DEGRADATION, 24.0)}
    [alert] = threshold_alerts(figures, {}, settings)  # better than the week is no alarm
    assert alert.kind == "metric" and alert.subject == "s/m/v1/champion"
    assert "MAE degraded: +200% over the 24 h window" in alert.reason
    assert "against the rest of the 168 h window before it" in alert.reason
    assert threshold_alerts(figures, {}, MonitoringSettings(degradation=0)) == []  # off


def test_a_figure_over_its_threshold_on_too_few_rows_alerts_once_it_has_enough() -> None:
    # the demo's DE champion: +89 % with 45 judged before the day (no alert, under
    # min_judged), then +77 % with 91: the first alertable pass is the crossing, not "still
    # over since the last pass", which had left the degradation unalerted for good
    settings = MonitoringSettings(degradation=0.5, min_judged=48, psi=0.2, drift_min_values=100)

    def degradation(value: float, count: int, end: datetime) -> MonitorResult:
        return MonitorResult(
            "s", "m", "1", "champion", 24.0, end, "metric", DEGRADATION, "", value, count
        )

    before = degradation(0.89, 45, T0)
    assert threshold_alerts([before], {}, settings) == []
    later = T0 + timedelta(hours=2)
    [alert] = threshold_alerts(
        [degradation(0.77, 91, later)], {result_key(before): before}, settings
    )
    assert alert.name == DEGRADATION and "+77%" in alert.reason
    alerted = degradation(0.77, 91, later)
    still = degradation(0.8, 120, later + timedelta(hours=1))
    assert threshold_alerts([still], {result_key(alerted): alerted}, settings) == []
    # drift the same: over its limit on too few values was no alert
    few = MonitorResult("s", "m", "1", "champion", 48.0, T0, "drift", "psi", "load", 0.9, 40)
    enough = MonitorResult("s", "m", "1", "champion", 48.0, later, "drift", "psi", "load", 0.9, 400)
    [drifted] = threshold_alerts([enough], {result_key(few): few}, settings)
    assert drifted.kind == "drift" and "newly over: psi" in drifted.reason


def test_alerts_are_events_and_one_slack_post(tmp_path: Path, webhook) -> None:  # type: ignore[no-untyped-def]
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    settings = MonitoringSettings(webhook_url=webhook.url)
    alerts = threshold_alerts(
        [drift(0.5), drift(0.6, name="ks"), drift(0.7, version="4")], {}, settings
    )
    delivery = deliver_alerts(alerts, ledger, settings, backoff=0)
    assert delivery is not None and delivery.delivered and delivery.attempts == 1
    [message] = webhook.received
    assert set(message) == {"text"} and "2 alerts" in message["text"]
    assert "load (ks 0.6 > 0.2, 24 h; newly over: psi, ks)" in message["text"]
    events = ledger.events()
    assert [e.kind for e in events] == ["alert_delivered", "alert_raised", "alert_raised"]
    assert events[1].details["features"] == ["load"] and events[1].details["alert"] == "drift"
    assert events[0].details["keys"] == [e.details["key"] for e in events[:0:-1]]


def test_a_pass_writes_its_alerts_in_one_transaction_all_or_none(tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    settings = MonitoringSettings()
    alerts = threshold_alerts([drift(0.5, version=str(v)) for v in range(1, 301)], {}, settings)
    assert len(alerts) == 300
    deliver_alerts(alerts, ledger, settings, at=T0)
    assert len(ledger.events(kind="alert_raised", limit=5000)) == 300
    assert {e.at for e in ledger.events(limit=5)} == {T0}
    # a fault inside the transaction (a subject the database refuses) writes none of them
    broken = Ledger(f"sqlite:///{tmp_path / 'broken.db'}")
    broken.record("created", "x", "the tables exist")
    with broken.engine.begin() as con:
        con.exec_driver_sql(
            "CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.subject LIKE '%v150%' "
            "BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    with pytest.raises(LedgerError):
        deliver_alerts(alerts, broken, settings, at=T0)
    assert broken.events(kind="alert_raised") == []


def test_a_failing_webhook_is_retried_then_recorded_never_raised(tmp_path: Path, webhook) -> None:  # type: ignore[no-untyped-def]
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    webhook.statuses = [500, 503]
    settings = MonitoringSettings(webhook_url=webhook.url, webhook_attempts=3)
    delivery = deliver_alerts(
        threshold_alerts([drift(0.5)], {}, settings), ledger, settings, backoff=0
    )
    assert delivery is not None and delivery.delivered and delivery.attempts == 3
    webhook.statuses = [500, 500, 500]
    delivery = deliver_alerts(
        threshold_alerts([drift(0.5)], {}, settings), ledger, settings, backoff=0
    )
    assert delivery is not None and not delivery.delivered and delivery.status == 500
    [undelivered] = ledger.events(kind="alert_undelivered")
    assert "failed 3 times: HTTP 500" in undelivered.reason


def test_an_unreachable_webhook_gives_an_outcome_not_an_exception() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when the block ends: nothing listens
    delivery = post_webhook(f"http://127.0.0.1:{port}/x", "hi", attempts=2, backoff=0)
    assert not delivery.delivered and delivery.attempts == 2 and delivery.status == 0
    assert not post_webhook("file:///etc/passwd", "hi").delivered


def test_health_overdue_jobs_silent_services_and_a_full_spool(tmp_path: Path) -> None:
    now = T0
    runs = {"predict": now - timedelta(hours=2), "report": now - timedelta(hours=2)}
    intervals = {
        "predict": timedelta(minutes=30),
        "report": timedelta(days=1),
        "new": timedelta(hours=1),
    }
    [late] = overdue_jobs(runs, intervals, now, factor=2.0)
    assert late.subject == "job:predict" and "2.0 h ago" in late.reason
    [quiet] = silent_services({"a": now - timedelta(hours=3), "b": now}, now, minutes=90)
    assert quiet.subject == "service:a"
    # a service asked once a day may be quiet for its own 26 h, not for 90 minutes
    daily = {"daily": now - timedelta(hours=20)}
    assert silent_services(daily, now, minutes=90, allowed={"daily": 26 * 60}) == []
    [late_daily] = silent_services(
        {"daily": now - timedelta(hours=27)}, now, minutes=90, allowed={"daily": 26 * 60}
    )
    assert "no prediction for 1620 min" in late_daily.reason
    assert "it may be quiet for 1560 min" in late_daily.reason
    spool = tmp_path / "spool" / "0"
    spool.mkdir(parents=True)
    (spool / "segment-1.jsonl").write_text("{}\n" * 7)
    assert spool_alerts(tmp_path / "spool", 10) == []
    [full] = spool_alerts(tmp_path / "spool", 5)
    assert full.value == 7


def test_monitoring_settings_are_in_helio_toml_with_clear_errors(tmp_path: Path) -> None:
    from heliograph.core import ConfigError, load_settings

    path = tmp_path / "helio.toml"
    path.write_text("[monitoring]\npsi = 0.3\nwindows_hours = [6, 24]\n")
    settings = load_settings(path).monitoring
    assert settings.psi == 0.3 and settings.windows_hours == [6.0, 24.0] and settings.ks == 0.2
    path.write_text("[monitoring]\nwindows_hours = [24, -1]\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.field == "monitoring.windows_hours"
