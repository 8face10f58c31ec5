"""The recommender's public surface: sorted, complete names; nothing heavy at import time."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from heliograph.core import load_app

PACKAGES = ["heliograph.apps.recsys", "heliograph.metrics", "heliograph.lake"]


@pytest.mark.parametrize("name", PACKAGES)
def test_public_names_are_sorted_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__ == sorted(module.__all__)
    for submodule in Path(module.__file__).parent.glob("_*.py"):  # type: ignore[arg-type]
        if submodule.name == "__init__.py":
            continue
        private = importlib.import_module(f"{name}.{submodule.stem}")
        assert not set(private.__all__) - set(module.__all__), submodule.name


def test_importing_the_app_loads_no_model_library(tmp_path: Path) -> None:
    code = (
        "import sys, heliograph.apps.recsys, heliograph.metrics; "
        "print([m for m in ('scipy', 'implicit', 'hnswlib', 'mlflow') if m in sys.modules])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert list(tmp_path.iterdir()) == []


def test_the_app_is_found_with_its_formats_and_source() -> None:
    from heliograph.lake import available_formats

    app = load_app("recsys")
    assert app.datasets == ("recsys_reviews", "recsys_items")
    assert {"movielens", "amazon-json", "amazon-csv"} <= set(available_formats())
