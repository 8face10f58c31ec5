"""Alerts exactly once per pass: a pass run again for its scheduled time (after a fault, after
a Ctrl-C mid-delivery) raises no alert twice and posts only what was not delivered."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from heliograph.core import FixedClock, MonitoringSettings, Project, init_project
from heliograph.ledger import Ledger, MonitorResult
from heliograph.monitoring import deliver_alerts, post_alerts, raise_alerts, threshold_alerts
from heliograph.scheduler import Scheduler

from .conftest import Hook
from .test_monitor import NOW, fill_ledger

T0 = datetime(2025, 6, 1, 12, tzinfo=UTC)
LATER = NOW + timedelta(hours=3)  # the service's last prediction is 3.5 h old: it is silent


def drift(value: float, version: str = "3", name: str = "psi") -> MonitorResult:
    return MonitorResult(
        "price-forecast", "m", version, "champion", 24.0, T0, "drift", name, "load", value, 480
    )


def test_the_same_pass_twice_raises_and_posts_each_alert_once(
    tmp_path: Path, webhook: Hook
) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    settings = MonitoringSettings(webhook_url=webhook.url)
    alerts = threshold_alerts([drift(0.5), drift(0.7, version="4")], {}, settings)
    assert len(alerts) == 2
    for _ in range(2):
        deliver_alerts(alerts, ledger, settings, backoff=0, at=T0)
    assert len(ledger.events(kind="alert_raised")) == 2 and len(webhook.received) == 1
    [delivered] = ledger.events(kind="alert_delivered")
    assert delivered.at == T0 and len(delivered.details["keys"]) == 2
    # the next pass is another time: its alerts are its own, posted once too
    deliver_alerts(alerts, ledger, settings, backoff=0, at=T0 + timedelta(hours=1))
    assert len(ledger.events(kind="alert_raised")) == 4 and len(webhook.received) == 2


def test_alerts_raised_but_not_posted_are_posted_by_the_re_run(
    tmp_path: Path, webhook: Hook
) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    settings = MonitoringSettings(webhook_url=webhook.url, webhook_attempts=2)
    first = threshold_alerts([drift(0.5)], {}, settings)
    assert raise_alerts(first, ledger, at=T0) == first  # ... and the pass stopped here
    # the re-run finds one more (new data came in meanwhile): raises it alone, posts both
    both = threshold_alerts([drift(0.5), drift(0.6, version="4")], {}, settings)
    webhook.statuses = [500, 500]  # a webhook down for all its attempts
    delivery = deliver_alerts(both, ledger, settings, backoff=0, at=T0)
    assert delivery is not None and not delivery.delivered
    assert len(ledger.events(kind="alert_raised")) == 2
    [undelivered] = ledger.events(kind="alert_undelivered")
    assert undelivered.details["alerts"] == 2
    # a re-run of that pass tries the undelivered again; later ones post nothing more
    delivery = post_alerts(ledger, settings, at=T0, backoff=0)
    assert delivery is not None and delivery.delivered
    assert post_alerts(ledger, settings, at=T0, backoff=0) is None
    posts = [m["text"] for m in webhook.received]
    assert len(posts) == 3 and posts[0] == posts[2] and "heliograph: 2 alerts" in posts[2]


def _project(tmp_path: Path, webhook: Hook) -> Project:
    project = init_project(
        tmp_path / "demo", name="demo", settings={"monitoring": {"webhook_url": webhook.url}}
    )
    project.with_clock(FixedClock(LATER))
    fill_ledger(project.ledger_url, tmp_path / "spool", load_shift=0.0)
    return project


def test_a_scheduled_pass_that_failed_after_raising_posts_its_alerts_once_on_the_retry(
    tmp_path: Path, webhook: Hook
) -> None:
    project = _project(tmp_path, webhook)
    ledger = Ledger(project.ledger_url)
    with ledger.engine.begin() as con:  # the figures cannot be stored: a fault after alerts
        con.exec_driver_sql(
            "CREATE TRIGGER refuse BEFORE INSERT ON monitor_results "
            "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    scheduler = Scheduler(project, ["monitor"], clock=FixedClock(LATER))
    [failed] = scheduler.tick(LATER)
    assert failed.status == "retrying" and "disk full" in failed.summary
    raised = ledger.events(kind="alert_raised", limit=1000)
    # coverage off its nominal level over each window and version, and the silent service
    assert len(raised) >= 3 and "health|service:price-forecast|silent" in {
        e.details["key"] for e in raised
    }
    assert webhook.received == []  # the fault came before the post
    with ledger.engine.begin() as con:
        con.exec_driver_sql("DROP TRIGGER refuse")

    [retried] = scheduler.tick(LATER + timedelta(minutes=5))  # the retry is due
    assert retried.status == "succeeded", retried.summary
    assert f"0 alerts ({len(raised)} raised before)" in retried.summary
    assert "webhook delivered" in retried.summary
    assert len(ledger.events(kind="alert_raised", limit=1000)) == len(raised)
    [post] = webhook.received
    assert post["text"].startswith(f"heliograph: {len(raised)} alerts")
    # by hand, forced, for the same time: nothing raised or posted again
    again = scheduler.run_interval("monitor", LATER, force=True)
    assert again.status == "succeeded" and "0 alerts" in again.summary
    assert len(ledger.events(kind="alert_raised", limit=1000)) == len(raised)
    assert len(webhook.received) == 1


@pytest.mark.skipif(
    signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
    reason="Ctrl-C is not Python's KeyboardInterrupt here",
)
def test_a_pass_stopped_by_ctrl_c_mid_post_posts_on_the_re_run(
    tmp_path: Path, webhook: Hook
) -> None:
    project = _project(tmp_path, webhook)
    ledger = Ledger(project.ledger_url)
    scheduler = Scheduler(project, ["monitor"], clock=FixedClock(LATER))
    webhook.interrupt = True  # Ctrl-C while the webhook has not answered
    with pytest.raises(KeyboardInterrupt):
        scheduler.tick(LATER)
    webhook.released.set()
    raised = len(ledger.events(kind="alert_raised", limit=1000))
    assert raised >= 3 and webhook.received == [] and ledger.events(kind="alert_delivered") == []

    [rerun] = scheduler.tick(LATER)  # an interrupted run is due again at once
    # its figures were stored before the post: the re-run finds no new crossing, and posts
    # what the stopped run raised
    assert rerun.status == "succeeded", rerun.summary
    assert "0 alerts; webhook delivered" in rerun.summary
    assert len(ledger.events(kind="alert_raised", limit=1000)) == raised
    [post] = webhook.received
    assert post["text"].startswith(f"heliograph: {raised} alerts")
    [delivered] = ledger.events(kind="alert_delivered")
    assert delivered.at == LATER.replace(second=0) and len(delivered.details["keys"]) == raised
