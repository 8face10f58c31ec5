"""The project's promises about itself: the README's commands, public names, no side effects."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = [
    "heliograph.core",
    "heliograph.metrics",
    "heliograph.checks",
    "heliograph.lake",
    "heliograph.ledger",
    "heliograph.jobs",
    "heliograph.reports",
    "heliograph.apps.energy",
]


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = text.split("## Set up", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    return [line.split("#")[0].strip() for line in block.strip().splitlines()]


def test_readme_setup_is_two_commands_and_ci_runs_the_test_one() -> None:
    assert readme_commands() == ["./scripts/quickstart", "./scripts/test"]
    ci = (REPO / ".ci" / "run").read_text()
    assert "scripts/test" in ci.split("exec", 1)[1]


@pytest.mark.slow
def test_quickstart_installs_and_runs_the_main_job(tmp_path: Path) -> None:
    """The README's first command, as written (in this environment, into a fresh project)."""
    env = {
        **os.environ,
        "HELIO_VENV": sys.prefix,
        "HELIO_DEMO": str(tmp_path / "demo"),
        "HELIO_PROGRESS": "0",
    }
    for _ in (1, 2):  # the second run finds the project and continues it
        done = subprocess.run(
            [str(REPO / "scripts" / "quickstart")],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert re.search(r"snapshot energy_prices@[0-9a-f]{12}: [\d,]+ rows", done.stdout)
        assert "Traceback" not in done.stderr
    assert (tmp_path / "demo" / ".helio" / "lake" / "energy_prices").is_dir()
    assert list((tmp_path / "demo" / ".helio" / "reports" / "data").glob("*/*.html"))


@pytest.mark.parametrize("name", PACKAGES)
def test_public_names_are_sorted_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert exported == sorted(exported), f"{name}.__all__ is not sorted"
    for submodule in Path(module.__file__).parent.glob("_*.py"):  # type: ignore[arg-type]
        if submodule.name == "__init__.py" or submodule.stem in getattr(module, "LAZY", ()):
            continue  # a module the package imports lazily, on purpose (e.g. it needs MLflow)
        private = importlib.import_module(f"{name}.{submodule.stem}")
        missing = set(getattr(private, "__all__", [])) - set(exported)
        assert not missing, f"{name} does not re-export {sorted(missing)} of {submodule.stem}"


def test_importing_has_no_side_effects(tmp_path: Path) -> None:
    """No folders, no databases, no heavy imports (MLflow, GE, matplotlib) at import time."""
    code = (
        "import sys, heliograph, heliograph.core, heliograph.metrics, heliograph.lake, "
        "heliograph.checks, "
        "heliograph.ledger, heliograph.jobs, heliograph.reports, heliograph.cli; "
        "heavy = [m for m in ('mlflow', 'great_expectations', 'matplotlib', 'scipy') "
        "if m in sys.modules]; print(heavy)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert list(tmp_path.iterdir()) == []
