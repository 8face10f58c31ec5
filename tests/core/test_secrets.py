"""Secrets come from the environment and are never printed: ``helio config show`` (TOML and
JSON) shows *** for the webhook key, the alert webhook URL and a password in any URL, and
``[security] secrets_from_env`` refuses a secret written in helio.toml, naming the key and
the variable to use instead."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from heliograph.cli import main
from heliograph.core import ConfigError, Project, init_project

SECRETS = {
    "HELIO_GATEWAY__WEBHOOK_SECRET": "whsec-0123456789abcdef",
    "HELIO_MONITORING__WEBHOOK_URL": "https://hooks.example.invalid/services/T0/B0/XYZsecret",
    "HELIO_LEDGER__URL": "postgresql+psycopg://helio:pg-pass-42@db:5432/helio",
    "HELIO_ONLINE_STORE__URL": "redis://:redis-pass-7@cache:6379/0",
}
SECRET_TEXTS = ["whsec-0123456789abcdef", "XYZsecret", "pg-pass-42", "redis-pass-7"]


def _show(root: Path, *args: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        main(["-p", str(root), "config", "show", *args])
    return out.getvalue()


def test_config_show_redacts_every_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    init_project(tmp_path / "p")
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    for shown in (_show(tmp_path / "p"), _show(tmp_path / "p", "--json")):
        assert "***" in shown and "db:5432" in shown  # the rest of the URL stays readable
        for secret in SECRET_TEXTS:
            assert secret not in shown, shown
    settings = Project.load(tmp_path / "p").settings  # the program itself has the real values
    assert settings.gateway.webhook_secret == "whsec-0123456789abcdef"


def test_secrets_from_env_refuses_a_secret_in_the_file(tmp_path: Path) -> None:
    project = init_project(tmp_path / "p")
    config = project.config_path
    assert config is not None
    text = config.read_text().replace("secrets_from_env = false", "secrets_from_env = true")
    config.write_text(text.replace('webhook_secret = ""', 'webhook_secret = "in-the-file"'))
    with pytest.raises(ConfigError) as refused:
        Project.load(project.root)
    assert refused.value.field == "gateway.webhook_secret"
    assert "HELIO_GATEWAY__WEBHOOK_SECRET" in str(refused.value.hint)
    config.write_text(text)  # from the environment it is accepted
    assert Project.load(project.root).settings.security.secrets_from_env
