"""The recommender's public surface: sorted, complete names; nothing heavy at import time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from heliograph.core import load_app

# Sorted, complete public names: tests/test_project.py checks them for every package.


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
