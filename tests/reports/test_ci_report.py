"""The CI report shows one comparison: the runs the policy compared, on one window, one sign."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from heliograph.cli import main
from heliograph.core import Project, init_project
from heliograph.registry import TAG_METRICS, TAG_PREDICTIONS, TAG_RESCORES, TAG_WINDOW, Registry
from heliograph.reports import write_ci_report
from heliograph.tracking import TAG_CHECKS_PASSED, TAG_SNAPSHOTS, tracked_run

NAME = "toy-forecaster"
OLD, NEW = "2025-01-01..2025-01-14", "2025-01-15..2025-01-28"
METRICS = {
    "mae": {"unit": "kW", "better": "lower"},
    "coverage_80": {"unit": "share", "better": 0.8},
    "gain": {"unit": "share", "better": "higher"},
}
pytestmark = pytest.mark.filterwarnings("ignore:.*type hint:UserWarning")
PREDICTIONS = {
    "path": "backtest/predictions.parquet",
    "time": "timestamp",
    "actual": "target",
    "forecast": "p50",
    "low": "p10",
    "high": "p90",
    "unit": "kW",
}


def _frame(window: str, noise: float) -> pd.DataFrame:
    first, last = window.split("..")
    stamps = pd.date_range(first, pd.Timestamp(last) + pd.Timedelta(hours=23), freq="h", tz="UTC")
    rng = np.random.default_rng(int(noise * 100))
    target = 50 + 20 * np.sin(np.arange(len(stamps)) / 24 * 2 * np.pi)
    p50 = target + rng.normal(0, noise, len(stamps))
    return pd.DataFrame(
        {"timestamp": stamps, "target": target, "p10": p50 - 8, "p50": p50, "p90": p50 + 8}
    )


def _log(window: str, metrics: dict[str, float], noise: float) -> None:
    import mlflow

    mlflow.log_metrics({f"backtest_{k}": v for k, v in metrics.items()})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "predictions.parquet"
        _frame(window, noise).to_parquet(path)
        mlflow.log_artifact(str(path), "backtest")


def _tags(window: str, snapshot: str) -> dict[str, str]:
    return {
        TAG_WINDOW: window,
        TAG_CHECKS_PASSED: "true",
        TAG_SNAPSHOTS: snapshot,
        TAG_METRICS: json.dumps(METRICS),
        TAG_PREDICTIONS: json.dumps(PREDICTIONS),
    }


def train(project: Project, window: str, metrics: dict[str, float], noise: float) -> str:
    import mlflow
    import mlflow.pyfunc

    class Echo(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
        def predict(self, context: Any, model_input: list[str], params: Any = None) -> list[str]:
            return model_input

    with tracked_run(project, NAME, f"train {window}", tags=_tags(window, f"data@{window}")):
        _log(window, metrics, noise)
        info = mlflow.pyfunc.log_model(name="model", python_model=Echo())
    return Registry(project).register(NAME, info.model_uri, reason=f"trained on {window}")


def rescore(project: Project, version: str, window: str, metrics: dict[str, float]) -> None:
    """What training does when it registers: the champion's model scored on the new window."""
    tags = {**_tags(window, f"data@{window}"), TAG_RESCORES: f"{NAME}/{version}"}
    with tracked_run(project, NAME, f"champion-v{version}-rescored", tags=tags):
        _log(window, metrics, 3.0)


@pytest.fixture(scope="module")
def retrained(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """Issue 8 item 7: train, promote, new data, train again (the champion is re-scored)."""
    project = init_project(tmp_path_factory.mktemp("retrained"))
    v1 = train(project, OLD, {"mae": 4.256, "coverage_80": 0.7, "gain": 0.5}, noise=3.0)
    assert Registry(project).promote(NAME).accepted
    rescore(project, v1, NEW, {"mae": 4.186, "coverage_80": 0.75, "gain": 0.55})
    train(project, NEW, {"mae": 4.952, "coverage_80": 0.78, "gain": 0.6}, noise=5.0)
    return project


def _cells(report: str, metric: str) -> list[str]:
    row = next(line for line in report.splitlines() if line.startswith(f"| {metric} |"))
    return [c.strip() for c in row.strip("|").split("|")]


def test_the_verdict_table_lineage_and_plots_show_one_comparison(
    retrained: Project, tmp_path: Path
) -> None:
    out = Path(os.environ.get("HELIO_TEST_KEEP_REPORT", tmp_path / "ci"))
    decision, path = write_ci_report(Registry(retrained), NAME, out_dir=out)
    report = path.read_text()
    assert not decision.accepted
    verdict = decision.reasons[0]
    assert "challenger mae 4.952 vs champion 4.186 on " + NEW in verdict
    # One sign convention: the change is (candidate - baseline) / |baseline|, +18.30% here.
    assert "+18.30%, worse" in verdict
    _, unit, better, cand, base, change = _cells(report, "mae")
    assert (unit, better, cand, base) == ("kW", "lower", "4.952", "4.186")
    assert change.startswith("+18.30% worse")
    assert "4.256" not in report  # the champion's old window is not what was compared
    # The other metrics come from the same re-scoring run, judged by their own description.
    assert _cells(report, "coverage_80")[2:5] == ["closer to 0.8", "0.78", "0.75"]
    assert "better" in _cells(report, "coverage_80")[5]
    assert _cells(report, "gain")[5].startswith("+9.09% better")
    # Lineage: both columns were compared on the new window and scored on the same data.
    assert _cells(report, "window compared")[1:] == [NEW, NEW]
    assert _cells(report, "scored on")[1:] == [f"data@{NEW}", f"data@{NEW}"]
    assert _cells(report, "trained on")[1:] == [f"data@{NEW}", f"data@{OLD}"]
    # The plots: one panel per metric, and both forecasts over the same (new) window.
    assert "![backtest metrics](metrics.png)" in report
    assert "![forecast vs actual](forecast.png)" in report
    assert (out / "metrics.png").stat().st_size > 5000
    assert (out / "forecast.png").stat().st_size > 5000


def test_the_cli_report_agrees_with_promote(
    retrained: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(*args: str) -> tuple[int, str]:
        with pytest.raises(SystemExit) as info:
            main(["-p", str(retrained.root), *args])
        out, err = capsys.readouterr()
        return int(info.value.code or 0), out + err

    code, out = run("ci", "report", "--model", NAME, "--out", str(tmp_path / "ci"))
    assert code == 1 and "policy would refuse" in out
    said = re.search(r"vs champion ([\d.]+) on \S+: ([+-][\d.]+%)", out)
    assert said is not None and said.groups() == ("4.186", "+18.30%")
    code, out = run("model", "promote", NAME)
    assert code == 1 and "champion 4.186" in out and "+18.30%, worse" in out


def test_a_champion_never_scored_on_the_window_is_not_shown(tmp_path: Path) -> None:
    project = init_project(tmp_path / "p")
    train(project, OLD, {"mae": 4.256, "coverage_80": 0.7, "gain": 0.5}, noise=3.0)
    assert Registry(project).promote(NAME).accepted
    train(project, NEW, {"mae": 4.952, "coverage_80": 0.78, "gain": 0.6}, noise=5.0)
    decision, path = write_ci_report(Registry(project), NAME, out_dir=tmp_path / "ci")
    report = path.read_text()
    assert not decision.accepted and "windows differ" in decision.reasons[0]
    assert "was not scored on " + NEW in report
    assert _cells(report, "mae")[3:] == ["4.952", "–", "–"]
    assert "4.256" not in report
