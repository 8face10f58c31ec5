"""Heavy compute on an engine chosen by configuration: the same numbers here and on Ray.

One Ray cluster (2 CPUs, on this host, started by the test module) serves every test: a
backtest's folds, a sweep whose best trial is registered, a snapshot scored into the ledger.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import pandas as pd
import pytest

from heliograph.cli import main
from heliograph.compute import LocalEngine, RayEngine, open_engine
from heliograph.core import (
    ComputeSettings,
    ConfigError,
    DataError,
    FixedClock,
    Project,
    UsageError,
    init_project,
    load_settings,
)
from heliograph.features import compute_offline
from heliograph.lake import open_lake, take_snapshot
from heliograph.ledger import count_predictions
from heliograph.registry import Registry
from heliograph.training import TAG_SWEEP, Candidate, Sweep, backtest, score_snapshot, train
from tests.apps.tiny import app as tiny

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:mlflow.*")


class Ridge:
    """Ridge regression on the tiny app's features: one hyperparameter to sweep."""

    columns = ("load_1d", "load_2d", "hour_sin", "hour_cos")

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha

    def params(self) -> dict[str, Any]:
        return {"alpha": self.alpha}

    def fit(self, frame: pd.DataFrame) -> Ridge:
        rows = frame.dropna(subset=[*self.columns, "target"])
        x = np.column_stack([np.ones(len(rows)), rows[list(self.columns)].to_numpy(float)])
        penalty = self.alpha * np.eye(x.shape[1])
        penalty[0, 0] = 0.0
        y = rows["target"].to_numpy(float)
        self.coef = np.linalg.solve(x.T @ x + penalty, x.T @ y)
        return self

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        x = frame[list(self.columns)].astype(float).fillna(0.0).to_numpy()
        return pd.DataFrame({"load": self.coef[0] + x @ self.coef[1:]}, index=frame.index)


def _every_row(lake: Any, snapshots: Any, subject: str | None) -> pd.DataFrame:
    stamps = lake.read("meter_readings", snapshot=snapshots["meter_readings"])["timestamp"]
    return tiny.requests_for("m1", stamps)


# every row of the snapshot is a request: a scored snapshot gives one prediction per row
PIPELINE = replace(
    tiny.PIPELINE,
    requests=_every_row,
    candidates=[*tiny.PIPELINE.candidates, Candidate("ridge", Ridge)],
)


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    import ray

    # The test's classes travel by value: Ray's workers need not import the tests package.
    for module in (sys.modules[__name__], tiny):
        cloudpickle.register_pickle_by_value(module)
        ray.cloudpickle.register_pickle_by_value(module)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("compute") / "tiny"
    project = init_project(root, extra=tiny.CONFIG).with_clock(
        FixedClock(datetime(2025, 3, 1, tzinfo=UTC))
    )
    open_lake(project).ingest("meter_readings", tiny.readings(days=30), origin="generated")
    return project


def _features(project: Project) -> pd.DataFrame:
    lake = open_lake(project)
    snapshot = take_snapshot(lake, "meter_readings").id
    return compute_offline(
        lake,
        tiny.LoadFeatures(),
        _every_row(lake, {"meter_readings": snapshot}, None),
        snapshots={"meter_readings": snapshot},
    )


def test_a_backtest_gives_the_same_numbers_here_in_processes_and_on_ray(
    project: Project, ray_cluster: None
) -> None:
    features = _features(project)
    runs = {
        name: backtest(
            features,
            lambda: Ridge(alpha=3.0),
            start="2025-01-24",
            end="2025-01-30",
            recalibrate="daily",
            train_days=14,
            keys=("meter",),
            engine=engine,
        )
        for name, engine in {
            "in-process": None,
            "local": LocalEngine(workers=2),
            "ray": open_engine(ComputeSettings(engine="ray")),
        }.items()
    }
    mae = {
        n: float((r.predictions["load"] - r.predictions["target"]).abs().mean())
        for n, r in runs.items()
    }
    assert runs["ray"].fits == 7 and len(runs["ray"].predictions) == 7 * 24
    assert abs(mae["local"] - mae["in-process"]) < 1e-9
    assert abs(mae["ray"] - mae["in-process"]) < 1e-9
    pd.testing.assert_frame_equal(runs["ray"].predictions, runs["in-process"].predictions)


def test_an_error_in_a_worker_is_the_same_error_here(project: Project, ray_cluster: None) -> None:
    features = _features(project)
    for engine in (LocalEngine(workers=2), RayEngine()):
        with pytest.raises(DataError, match="nothing to train on"):  # the first days
            backtest(
                features,
                tiny.Yesterday,
                start="2025-01-01",
                end="2025-01-03",
                recalibrate="daily",
                engine=engine,
            )


def test_a_sweep_on_ray_registers_its_best_trial_with_lineage(
    project: Project, ray_cluster: None
) -> None:
    sweep = Sweep("ridge", {"alpha": {"low": 0.01, "high": 1000.0, "log": True}}, trials=2, seed=1)
    outcome = train(
        project,
        PIPELINE,
        backtest_days=7,
        recalibrate="daily",
        train_days=14,
        sweep=sweep,
        engine=RayEngine(),
    )
    assert list(outcome.metrics) == ["ridge-t0", "ridge-t1"]
    maes = {n: m["mae"] for n, m in outcome.metrics.items()}
    assert outcome.best == min(maes, key=maes.__getitem__)
    assert len({round(v, 9) for v in maes.values()}) == 2  # two different alphas
    registry = Registry(project)
    assert registry.version_of("meter-load", "challenger") == outcome.version == "1"
    run = registry.run_of("meter-load", outcome.version)
    assert run.info.run_id == outcome.runs[outcome.best]
    assert run.data.tags[TAG_SWEEP] == sweep.id
    assert run.data.tags["helio.snapshots"] == outcome.snapshots[0]
    assert float(run.data.params["model.alpha"]) > 0
    # the same sweep on local processes: the same trials, the same metrics
    again = train(
        project,
        PIPELINE,
        backtest_days=7,
        recalibrate="daily",
        train_days=14,
        sweep=sweep,
        engine=LocalEngine(workers=2),
        register=False,
    )
    assert {n: m["mae"] for n, m in again.metrics.items()} == pytest.approx(maes, abs=1e-9)


def test_scoring_a_snapshot_on_ray_writes_one_prediction_per_row(
    project: Project, ray_cluster: None, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = open_lake(project)
    snapshot = take_snapshot(lake, "meter_readings")
    if "meter-load" not in Registry(project).models():  # run alone: a version to score
        train(project, PIPELINE, backtest_days=7, train_days=14, candidates=["least_squares"])
    outcome = score_snapshot(
        project,
        PIPELINE,
        [snapshot.id],
        alias="challenger",
        engine=RayEngine(),
        chunk_rows=200,
    )
    rows = len(lake.read("meter_readings", snapshot=snapshot.id))
    assert outcome.rows == rows == 30 * 24
    assert count_predictions(project.ledger_url, service="batch:meter-load") == rows
    # again, from the command line on local processes: the ids are the same, nothing is added
    with pytest.raises(SystemExit) as done:
        main(
            [
                "-p",
                str(project.root),
                "score",
                snapshot.id,
                "--model",
                "meter-load",
                "--alias",
                "challenger",
                "--engine",
                "local",
                "--pipeline",
                f"{__name__}:PIPELINE",
            ]
        )
    assert done.value.code == 0, capsys.readouterr().err
    assert f"{rows} predictions of meter-load" in capsys.readouterr().out
    assert count_predictions(project.ledger_url, service="batch:meter-load") == rows


def test_the_engine_is_configuration_and_bad_values_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings(
        None, {"HELIO_COMPUTE__ENGINE": "ray", "HELIO_COMPUTE__ADDRESS": "auto"}
    )
    engine = open_engine(settings.compute)
    assert isinstance(engine, RayEngine) and engine.address == "auto"
    assert isinstance(open_engine(load_settings(None, {}).compute), LocalEngine)  # the default
    (tmp_path / "helio.toml").write_text('[compute]\nengine = "spark"\n')
    with pytest.raises(ConfigError, match="compute.engine"):
        Project.load(tmp_path)
    with pytest.raises(SystemExit) as done:
        main(["-p", str(tmp_path), "train", "--engine", "spark", "energy"])
    assert done.value.code == 2 and "--engine" in capsys.readouterr().err
    sweep_file = tmp_path / "sweep.toml"
    sweep_file.write_text('candidate = "ridge"\ntrials = 2\n[space]\nalpha = {low = 5, high = 1}\n')
    with pytest.raises(UsageError, match="space.alpha"):
        Sweep.read(sweep_file)


def test_helio_train_sweeps_an_apps_candidate_on_ray(
    tmp_path: Path, ray_cluster: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from heliograph.core import load_app
    from heliograph.jobs import ingest, snapshot

    app = load_app("energy")
    config = app.config.replace('start = "2024-01-01"', 'start = "2025-04-20"').replace(
        'markets = ["GB", "DE", "FR"]', 'markets = ["GB"]'
    )
    project = init_project(tmp_path / "energy", extra=config, clock={**app.clock, "speed": 1.0})
    ingest(project)
    snapshot(project)
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(
        'candidate = "seasonal_naive"\ntrials = 2\nseed = 3\n'
        '[space]\nlag = { choices = ["price_lag_7d", "price_lag_1d"] }\n'
    )
    with pytest.raises(SystemExit) as done:
        main(
            [
                "-p",
                str(project.root),
                "train",
                "--engine",
                "ray",
                "--sweep",
                str(sweep),
                "energy",
                "--market",
                "GB",
                "--backtest-days",
                "7",
                "--train-days",
                "21",
            ]
        )
    out, err = capsys.readouterr()
    assert done.value.code == 0, err
    assert "seasonal_naive-t0" in out and "seasonal_naive-t1" in out
    assert "registered energy-price-GB version 1 as challenger" in out
    run = Registry(project).run_of("energy-price-GB", "1")
    assert run.data.tags["helio.sweep"] and run.data.params["model.lag"].startswith("price_lag_")


def test_the_epf_benchmark_gives_the_same_scores_on_both_engines(
    tmp_path: Path, ray_cluster: None
) -> None:
    from tests.test_benchmarks import SCRIPT, write_epf

    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import epf
    finally:
        sys.path.remove(str(SCRIPT.parent))
    data = tmp_path / "XX.csv"
    write_epf(data, days=60)
    common = ["--data", str(data), "--days", "4", "--models", "seasonal_naive"]
    runs = {
        engine: epf.run(*reversed(epf.parse_args([*common, "--engine", engine])))
        for engine in ("local", "ray")
    }
    assert runs["ray"]["engine"]["name"] == "ray" and runs["local"]["engine"]["name"] == "local"
    naive = {engine: out["models"]["seasonal_naive"] for engine, out in runs.items()}
    assert naive["local"]["fits"] == naive["ray"]["fits"] == 4
    assert abs(naive["local"]["mae"] - naive["ray"]["mae"]) < 1e-9
    with pytest.raises(SystemExit):  # LEAR's kept penalties cannot be cut into tasks
        epf.run(
            *reversed(
                epf.parse_args(
                    [*common, "--engine", "ray", "--models", "lear", "--penalty-days", "7"]
                )
            )
        )
