"""`helio init`: the user chooses the project's app; nothing is chosen for them."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from heliograph.cli import main
from heliograph.core import load_apps

INSTALLED = [a.name for a in load_apps()]


def helio(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


class _Terminal(io.StringIO):
    """Standard input typed by a person at a terminal."""

    def isatty(self) -> bool:
        return True


def test_several_apps_and_no_terminal_is_an_error_listing_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert len(INSTALLED) >= 2  # energy and recsys ship with heliograph
    code, out, err = helio(capsys, "init", str(tmp_path / "p"))
    assert code == 2, out + err
    flat = " ".join(err.split())
    assert "field: --app" in flat and "--bare" in flat
    assert all(name in flat for name in INSTALLED)
    assert not (tmp_path / "p").exists()  # nothing written before the choice


def test_the_app_named_is_the_one_included(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = helio(capsys, "init", str(tmp_path / "r"), "--app", "recsys")
    assert code == 0 and "with the recsys app" in out
    text = (tmp_path / "r" / "helio.toml").read_text()
    assert "[datasets.recsys_reviews]" in text and "energy_prices" not in text


def test_an_unknown_app_or_app_with_bare_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = helio(capsys, "init", str(tmp_path / "u"), "--app", "nope")
    assert code == 2 and "unknown app 'nope'" in err and all(n in err for n in INSTALLED)
    code, _, err = helio(capsys, "init", str(tmp_path / "b"), "--app", "energy", "--bare")
    assert code == 2 and "exclude each other" in err
    assert not (tmp_path / "u").exists() and not (tmp_path / "b").exists()


def test_at_a_terminal_it_asks_with_no_default_until_the_answer_is_an_app(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", _Terminal("\nmeteo\nrecsys\n"))
    code, out, err = helio(capsys, "init", str(tmp_path / "t"))
    assert code == 0, err
    assert "apps installed:" in out and all(n in out for n in INSTALLED)
    assert "not an installed app: 'meteo'" in err
    assert "with the recsys app" in out
    assert "[datasets.recsys_reviews]" in (tmp_path / "t" / "helio.toml").read_text()
