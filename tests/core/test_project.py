"""Projects: helio.toml with documented defaults, HELIO_ overrides, clear errors."""

from __future__ import annotations

import json
import time
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from heliograph.core import (
    ConfigError,
    Project,
    ReplayClock,
    Settings,
    init_project,
    load_settings,
)


def test_init_writes_every_key_with_its_default(tmp_path: Path) -> None:
    project = init_project(tmp_path / "p", name="demo")
    written = tomllib.loads(project.config_path.read_text())  # type: ignore[union-attr]
    defaults = Settings().model_dump(exclude={"datasets", "sources"}, exclude_none=True)
    defaults["project"]["name"] = "demo"
    for section, keys in defaults.items():
        for key, value in keys.items():
            assert written[section][key] == value, f"{section}.{key}"
    text = project.config_path.read_text()  # type: ignore[union-attr]
    assert "start = " in text  # the optional key is documented, commented out
    assert project.state_dir.is_dir() and project.lake_path.is_dir()
    assert project.tracking_uri.endswith("/p/.helio/mlflow.db")
    assert project.ledger_url.endswith("/p/.helio/ledger.db")


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    init_project(tmp_path)
    with pytest.raises(ConfigError, match="exists already"):
        init_project(tmp_path)
    init_project(tmp_path, force=True)


def test_environment_overrides_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    init_project(tmp_path)
    monkeypatch.setenv("HELIO_LEDGER__URL", "postgresql+psycopg://u@db/helio")
    monkeypatch.setenv("HELIO_CLOCK__SPEED", "60")
    project = Project.load(tmp_path)
    assert project.ledger_url == "postgresql+psycopg://u@db/helio"
    assert project.settings.clock.speed == 60.0
    assert sorted(project.overridden_keys()) == ["clock.speed", "ledger.url"]
    assert project.effective()["ledger"]["url"] == "postgresql+psycopg://u@db/helio"


def test_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "helio.toml"
    path.write_text("[ledger]\nurl = ''\nulr = 'typo'\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert info.value.field == "ledger.ulr"
    assert info.value.file == str(path)
    assert "unknown key" in info.value.headline


def test_bad_value_names_the_rule(tmp_path: Path) -> None:
    path = tmp_path / "helio.toml"
    path.write_text("[clock]\nspeed = -1\n")
    with pytest.raises(ConfigError, match="clock.speed: Input should be greater than 0"):
        load_settings(path)
    path.write_text("[clock]\nmode = 'fast'\n")
    with pytest.raises(ConfigError, match="clock.mode"):
        load_settings(path)


def test_bad_environment_value_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "helio.toml"
    path.write_text("")
    monkeypatch.setenv("HELIO_CLOCK__SPEED", "fast")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert info.value.file == "HELIO_CLOCK__SPEED"


def test_broken_toml_is_reported_with_its_file(tmp_path: Path) -> None:
    path = tmp_path / "helio.toml"
    path.write_text("[ledger\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path)


def test_find_walks_up_and_explains_when_there_is_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_project(tmp_path)
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert Project.find(deep).root == tmp_path.resolve()
    lonely = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    lonely.mkdir()
    with pytest.raises(ConfigError, match="no helio.toml"):
        Project.find(lonely)
    monkeypatch.setenv("HELIO_PROJECT", str(tmp_path))
    assert Project.find().root == tmp_path


def test_loading_creates_nothing(tmp_path: Path) -> None:
    (tmp_path / "helio.toml").write_text("")
    project = Project.load(tmp_path)
    _ = (project.lake_path, project.ledger_url, project.tracking_uri, project.effective())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["helio.toml"]


def test_replay_clock_runs_at_speed_and_resumes(tmp_path: Path) -> None:
    start = datetime(2025, 6, 1, tzinfo=UTC)
    clock = ReplayClock(start, speed=3600, origin=time.time() - 2)
    assert timedelta(hours=1.9) < clock.now() - start < timedelta(hours=2.5)

    (tmp_path / "helio.toml").write_text(
        "[clock]\nmode = 'replay'\nstart = 2025-06-01T00:00:00Z\nspeed = 3600.0\n"
    )
    first = Project.load(tmp_path).clock()
    marker = json.loads((tmp_path / ".helio" / "clock.json").read_text())
    again = Project.load(tmp_path).clock()  # another process later: same origin, no restart
    assert isinstance(again, ReplayClock) and again.origin == first.origin == marker["origin"]


def test_replay_without_start_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "helio.toml").write_text("[clock]\nmode = 'replay'\n")
    with pytest.raises(ConfigError, match="needs clock.start"):
        Project.load(tmp_path).clock()


def test_a_new_replay_speed_continues_the_replay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "helio.toml").write_text(
        "[clock]\nmode = 'replay'\nstart = 2025-06-01T00:00:00Z\nspeed = 3600.0\n"
    )
    marker = tmp_path / ".helio" / "clock.json"
    marker.parent.mkdir()
    marker.write_text(
        json.dumps(
            {"start": "2025-06-01T00:00:00+00:00", "speed": 3600.0, "origin": time.time() - 10}
        )
    )  # 10 h into the replay
    monkeypatch.setenv("HELIO_CLOCK__SPEED", "60")
    faster = Project.load(tmp_path).clock().now()
    assert timedelta(hours=9.9) < faster - datetime(2025, 6, 1, tzinfo=UTC) < timedelta(hours=10.2)


def test_config_show_never_prints_a_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_project(tmp_path)
    monkeypatch.setenv("HELIO_LEDGER__URL", "postgresql+psycopg://helio:s3cret@db/helio")
    effective = Project.load(tmp_path).effective()
    assert effective["ledger"]["url"] == "postgresql+psycopg://helio:***@db/helio"


def test_an_apps_settings_are_written_as_toml_and_checked_before_init_writes(
    tmp_path: Path,
) -> None:
    watch = {"price-forecast": ["price_lag_*", "!price_lag_7d"], "odd name": []}
    project = init_project(tmp_path / "a", settings={"monitoring": {"watch": watch, "ks": 0.5}})
    again = Project.load(project.root).settings.monitoring  # helio.toml reads back as written
    assert again.watch == watch and again.ks == 0.5
    for bad, rule in (({"ks": 5}, "less than or equal to 1"), ({"ks": None}, "a TOML value")):
        with pytest.raises(ConfigError, match="monitoring.ks") as caught:
            init_project(tmp_path / "b", settings={"monitoring": bad})
        assert rule in (caught.value.rule or "")
        assert not (tmp_path / "b" / "helio.toml").exists()  # nothing broken left behind
