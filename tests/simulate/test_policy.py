"""Policy files: what a person writes, and a clear error naming the key and the rule when it
is wrong (never a stack trace)."""

from __future__ import annotations

from pathlib import Path

import pytest

from heliograph.core import UsageError
from heliograph.simulate import load_policy, policy_from

DOCS = Path(__file__).parents[2] / "docs" / "policies"


def test_the_documented_policies_load() -> None:
    never, weekly, drift = (load_policy(DOCS / f"{n}.toml") for n in ("never", "weekly", "drift"))
    assert never.summary() == "never: never retrain, promote on live evidence"
    assert (weekly.name, weekly.retrain.when, weekly.retrain.every_days) == ("weekly", "every", 7)
    assert drift.retrain.alerts == ("drift",) and drift.promote.when == "live"


@pytest.mark.parametrize(
    ("text", "field", "rule"),
    [
        ('[retrain]\nwhen = "sometimes"', "retrain.when", "'never', 'every' or 'drift'"),
        ('[retrain]\nwhen = "every"', "retrain.every_days", "required when when = 'every'"),
        ('[retrain]\nwhen = "every"\nevery_days = 3', "retrain.every_days", "greater than"),
        ('[retrain]\nwhen = "never"\nevery_days = 7', "retrain.every_days", "only with"),
        ('[retrain]\nwhen = "drift"\nalerts = ["rain"]', "retrain.alerts", "rain"),
        ('[retrain]\nwhen = "drift"\ncadence = 1', "retrain.cadence", "unknown key"),
        ('[promote]\nwhen = "always"', "promote.when", "'live' or 'backtest'"),
        ("[settings.gateway]\nport = 1", "settings.gateway", "one of monitoring, policy"),
        (
            "[settings.monitoring]\nmin_shadow_hours = -1",
            "settings.monitoring.min_shadow_hours",
            "greater than or equal to 0",
        ),
        ("[settings.policy]\nmargin = 0.1", "settings.policy.margin", "unknown key"),
        ('name = "a b"', "name", "pattern"),
    ],
)
def test_a_bad_policy_names_the_key_and_the_rule(
    tmp_path: Path, text: str, field: str, rule: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(UsageError) as raised:
        load_policy(path)
    assert raised.value.field == field, raised.value.describe()
    assert rule in (raised.value.rule or ""), raised.value.describe()
    assert str(path) in raised.value.describe()


def test_a_file_that_is_not_toml_or_is_missing(tmp_path: Path) -> None:
    (tmp_path / "x.toml").write_text("[retrain\n")
    with pytest.raises(UsageError, match="not valid TOML"):
        load_policy(tmp_path / "x.toml")
    with pytest.raises(UsageError, match="no policy file"):
        load_policy(tmp_path / "missing.toml")


def test_settings_lay_over_the_projects() -> None:
    from heliograph.core import Settings

    policy = policy_from({"settings": {"monitoring": {"min_shadow_hours": 48}}}, name="slow")
    applied = policy.apply(Settings())
    assert applied.monitoring.min_shadow_hours == 48
    assert applied.monitoring.min_judged == Settings().monitoring.min_judged
