"""``helio dashboard`` refuses an address beyond loopback without a password, as a sentence
and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from heliograph.cli import main
from heliograph.core import init_project


def _helio(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def test_dashboard_beyond_loopback_without_a_password_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = init_project(tmp_path / "p", name="p")
    code, _, err = _helio(capsys, "-p", str(project.root), "dashboard", "--host", "0.0.0.0")
    assert code == 2
    assert "refusing to serve the dashboard on 0.0.0.0" in err
    assert "dashboard.password" in err and "Traceback" not in err
