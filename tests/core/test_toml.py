"""A TOML file given to a command: a missing or broken file names the option, never a trace."""

from __future__ import annotations

from pathlib import Path

import pytest

from heliograph.core import UsageError, read_toml_file
from heliograph.training import Sweep


def test_a_toml_file_is_read_as_its_table(tmp_path: Path) -> None:
    path = tmp_path / "weekly.toml"
    path.write_text('name = "weekly"\n[retrain]\nevery_days = 7\n', encoding="utf-8")
    assert read_toml_file(path, what="policy", option="--policy") == {
        "name": "weekly",
        "retrain": {"every_days": 7},
    }


@pytest.mark.parametrize("make", ["missing", "directory", "broken"])
def test_a_file_that_is_not_toml_names_the_option_and_the_rule(tmp_path: Path, make: str) -> None:
    path = tmp_path / "sweep.toml"
    if make == "directory":
        path.mkdir()
    elif make == "broken":
        path.write_text("trials = = 3\n", encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        Sweep.read(path)
    error = caught.value
    assert error.field == "--sweep"
    assert error.rule == ("TOML" if make == "broken" else "a TOML file")
    assert str(path) in error.headline
