"""The EPF benchmark script, run as a user runs it, on small files in the EPF format."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "epf.py"
METRICS = ("mae", "rmae", "smape", "rmse")


def write_epf(path: Path, days: int = 120, seed: int = 3) -> pd.DataFrame:
    """An EPF-format CSV: a header of 4 names, then timestamp, price and two exogenous columns.

    Prices follow the load forecast, a daily and a weekly shape, and a persistent shock, so
    a model that reads the features beats the weekly naive.
    """
    rng = np.random.default_rng(seed)
    stamps = pd.date_range("2020-01-06", periods=days * 24, freq="h")
    hour, dow = stamps.hour.to_numpy(), stamps.day_of_week.to_numpy()
    daily = 10 * np.sin((hour - 6) / 24 * 2 * np.pi)
    load = 60_000 + 8_000 * np.sin((hour - 6) / 24 * 2 * np.pi) - 5_000 * (dow >= 5)
    load = load + rng.normal(0, 1_500, len(stamps))
    wind = np.clip(
        rng.gamma(2.0, 2_000, days).repeat(24) + rng.normal(0, 300, len(stamps)), 0, None
    )
    shock = np.cumsum(rng.normal(0, 1.0, days)).repeat(24)
    price = 40 + daily + 0.002 * (load - 60_000) - 0.001 * wind + shock
    price = price + rng.normal(0, 1.0, len(stamps))
    frame = pd.DataFrame(
        {
            "Date": stamps.strftime("%Y-%m-%d %H:%M:%S"),
            " Prices": price.round(2),
            " Load forecast": load.round(1),
            " Wind forecast": wind.round(1),
        }
    )
    frame.to_csv(path, index=False)
    return frame


def run_benchmark(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HELIO_PROGRESS": "0"}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,  # a run also backtests its validation period; shared CI cores
        env=env,
        check=False,
    )


def write_reference(folder: Path, frame: pd.DataFrame) -> None:
    """Reference forecasts beside the data, in the epftoolbox's layout, with known errors.

    Its rows come shuffled and start ten days later than the data, and each forecast's error
    differs from hour to hour, so a match by position (or a shifted one) would give other
    figures; its record of one test hour (03-27 06:00) differs from the data's by 0.25.
    """
    real = frame[" Prices"].to_numpy()
    hour = np.arange(len(real)) % 24
    recorded = real.copy()
    recorded[81 * 24 + 6] += 0.25
    reference = pd.DataFrame(
        {
            "": frame["Date"],
            "Real price": recorded,
            "LEAR Ensemble": real + np.where(hour < 12, 1.0, 3.0),  # MAE 2, by hour
            "DNN Ensemble": real - np.where(hour % 2 == 0, 0.25, 0.75),  # MAE 0.5
            "LEAR 1456": real + np.where(hour < 6, 4.0, 0.0),  # MAE 1
        }
    ).iloc[240:]
    reference = reference.sample(frac=1.0, random_state=4)
    (folder / "reference-forecasts").mkdir()
    reference.to_csv(
        folder / "reference-forecasts" / "Forecasts_XX_DNN_LEAR_ensembles.csv", index=False
    )


@pytest.fixture(scope="module")
def protocol(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[pd.DataFrame, subprocess.CompletedProcess[str]]:
    """One run of the protocol (LEAR, 14 test days, weekly) on a file with reference forecasts
    beside it: what the run scores does not depend on the reference, what it compares does."""
    folder = tmp_path_factory.mktemp("epf")
    data = folder / "XX.csv"
    frame = write_epf(data)
    write_reference(folder, frame)
    done = run_benchmark(
        "--data", data, "--days", "14", "--recalibrate", "weekly", "--models", "lear"
    )
    assert done.returncode == 0, done.stderr
    assert data.read_text().splitlines()[1].startswith("2020-01-06 00:00:00,")
    return frame, done


def test_runs_the_protocol_on_any_epf_file(
    protocol: tuple[pd.DataFrame, subprocess.CompletedProcess[str]],
) -> None:
    frame, done = protocol
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout  # one JSON line, the logs go to stderr
    out = json.loads(lines[0])
    assert out["market"] == "XX"  # the file's stem, not a known market
    assert out["days"] == 14
    assert out["recalibrate"] == "weekly"
    assert out["wall_s"] > 0
    # 120 days, fewer than 3 x 728: the test period is the last third, 40 days from day 81.
    assert out["test_start"] == "2020-03-26"
    assert out["test_end"] == "2020-04-08"
    assert out["rmae_convention"].startswith("epftoolbox")
    assert set(out["models"]) == {"seasonal_naive", "lear"}  # the naive always runs
    for name, metrics in out["models"].items():
        for key in METRICS:
            assert math.isfinite(metrics[key]) and metrics[key] >= 0, (name, key, metrics)
        assert metrics["fits"] == 2  # two weekly blocks
        assert metrics["rmse"] >= metrics["mae"]
        assert metrics["smape"] <= 200
    # rMAE's scale, computed here from the file: the weekly naive (the price 168 h earlier,
    # from the test period's own prices) over the test days after the first week.
    prices = pd.Series(
        frame[" Prices"].to_numpy(), index=pd.to_datetime(frame["Date"], format="%Y-%m-%d %H:%M:%S")
    )
    test = prices["2020-03-26":"2020-04-08 23:00"]
    assert len(test) == 14 * 24
    scale = float(np.mean(np.abs(test.to_numpy()[168:] - test.to_numpy()[:-168])))
    assert out["naive_mae"] == pytest.approx(scale, abs=1e-4)
    for name, metrics in out["models"].items():
        assert metrics["rmae"] == pytest.approx(metrics["mae"] / scale, rel=1e-3), name
    assert out["models"]["lear"]["rmae"] < 0.8  # the features carry the signal
    assert out["best"] == "lear"
    # The choice was made on the 14 days before the test period (as many as scored, at most
    # 28), and applied to it as it was.
    chosen = out["chosen"]
    assert chosen["validation_days"] == 14
    assert (chosen["validation_start"], chosen["validation_end"]) == ("2020-03-12", "2020-03-25")
    assert set(chosen["validation_mae"]) == {"seasonal_naive", "lear"}
    assert chosen["model"] == "lear" and chosen["weight"] is None
    assert chosen["test"]["mae"] == out["models"]["lear"]["mae"]
    assert "availability checked" in done.stderr


def test_without_reference_forecasts_there_is_no_verdict_against_them(tmp_path: Path) -> None:
    data = tmp_path / "XX.csv"
    write_epf(data)  # nothing beside it
    epf = _epf_module()  # in this process: the command line is the protocol's test above
    args = ["--data", str(data), "--days", "7", "--models", "seasonal_naive"]
    out = epf.run(*reversed(epf.parse_args(args)))
    assert set(out["models"]) == {"seasonal_naive"}
    assert "reference" not in out
    assert out["beats_lear_ensemble"] is None


def test_scores_the_reference_ensembles_over_the_same_days(
    protocol: tuple[pd.DataFrame, subprocess.CompletedProcess[str]],
) -> None:
    """The reference is matched to the test hours by timestamp (see ``write_reference``)."""
    _, done = protocol
    out = json.loads(done.stdout)
    ref = out["reference"]
    assert ref["lear_ensemble"]["mae"] == pytest.approx(2.0)
    assert ref["dnn_ensemble"]["mae"] == pytest.approx(0.5)
    assert ref["lear_1456"]["mae"] == pytest.approx(1.0)
    assert ref["lear_ensemble"]["rmae"] == pytest.approx(2.0 / out["naive_mae"], rel=1e-3)
    assert ref["real_price_max_abs_diff"] == pytest.approx(0.25)
    assert "differ from the data file's by up to 0.25" in done.stderr
    chosen = out["chosen"]["test"]  # the verdicts are on the forecast chosen before the test
    assert out["beats_lear_ensemble"] is (chosen["mae"] < 2.0)
    assert out["beats_dnn_ensemble"] is (chosen["mae"] < 0.5)
    assert set(chosen["dm"]) == {"lear_ensemble", "dnn_ensemble"}
    for name, entry in out["models"].items():  # DM against each ensemble, coverage, per model
        assert set(entry["dm"]) == {"lear_ensemble", "dnn_ensemble"}, name
        assert entry["dm"]["dnn_ensemble"]["days"] == 14
        assert 0 <= entry["coverage_80"] <= 1 and 0 <= entry["coverage_80_conformal"] <= 1


def test_a_missing_file_is_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "NOPE.csv"

    done = run_benchmark("--data", missing, "--days", "14")

    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert "file not found" in done.stderr and str(missing) in done.stderr


def test_a_malformed_file_and_bad_arguments_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "YY.csv"
    bad.write_text("Date,Price,A,B\n2020-01-01 00:00:00,oops,1,2\n")
    done = run_benchmark("--data", bad)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "price (column 2)" in done.stderr and "line 2" in done.stderr

    done = run_benchmark("--data", bad, "--models", "lear,prophet")
    assert done.returncode == 2
    assert "unknown model 'prophet'" in done.stderr and "usage:" in done.stderr


def test_the_blend_is_computed_as_the_blend_model_forecasts(tmp_path: Path) -> None:
    """The benchmark scores the blend from its members' backtests instead of fitting them twice;
    that must give what a backtest of the Blend model itself gives."""
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import epf
    finally:
        sys.path.remove(str(SCRIPT.parent))
    from heliograph.apps.energy import make_model
    from heliograph.training import backtest

    data = tmp_path / "XX.csv"
    write_epf(data, days=90)
    saved = tmp_path / "forecasts.csv"
    done = run_benchmark(
        "--data", data, "--days", "10", "--recalibrate", "weekly",
        "--models", "blend", "--predictions", saved,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert list(out["models"]) == [
        "seasonal_naive", "lear", "gbm_quantile", "blend", "blend_adaptive"
    ]  # fmt: skip
    chosen = out["models"]["blend_adaptive"]["params"]
    assert chosen["weight_last"] in [w / 10 for w in range(11)] and 0 <= chosen["weight_mean"] <= 1
    table = pd.read_csv(saved, parse_dates=["timestamp"])
    scored = table.loc[table["model"] == "blend"].set_index("timestamp")

    frames = epf.read_epf(data)
    days = epf.test_period(frames["energy_prices"])[:10]
    features = epf.build_features(frames, "XX", days, epf.PAPER_TRAIN_DAYS)
    direct = backtest(
        features, lambda: make_model("blend"), start=days[0], end=days[-1],
        recalibrate="weekly", train_days=epf.PAPER_TRAIN_DAYS,
    ).predictions.set_index("timestamp")  # fmt: skip

    assert len(scored) == len(direct) == 10 * 24
    for column in ("p10", "p50", "p90"):  # the CSV keeps 15+ significant digits
        np.testing.assert_allclose(scored[column], direct[column].to_numpy(), rtol=1e-9)
    assert out["models"]["blend"]["mae"] == pytest.approx(
        float((direct["p50"] - direct["target"]).abs().mean()), abs=1e-4
    )


MONITOR = Path(__file__).resolve().parents[1] / "benchmarks" / "monitor.py"


def test_the_monitor_benchmark_runs_small_without_evidently() -> None:
    done = subprocess.run(
        [sys.executable, str(MONITOR), "--rows", "20000", "--reference-rows", "5000",
         "--features", "10"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["benchmark"] == "monitor" and out["evidently"] is None
    assert out["checks"] == {"metrics_match_pandas": True, "drift_matches_scipy": True}
    assert out["metrics"]["daily_rows"] == 4 * 30  # 4 versions x 30 daily windows
    assert set(out["metrics"]["mae_7d"]) == {"3", "4", "7", "8"}
    # the versions were generated with errors growing by version
    mae = [out["metrics"]["mae_7d"][v] for v in ("3", "4", "7", "8")]
    assert mae == sorted(mae)
    for part in ("metrics", "drift"):  # the whole child, measured from outside, and its section
        figures = out[part]
        assert figures["child_seconds"] >= figures["seconds"] > 0
        assert figures["child_cpu_seconds"] >= figures["cpu_seconds"] > 0


def test_the_monitor_benchmark_stops_an_evidently_that_runs_too_long(tmp_path: Path) -> None:
    """A stand-in for Evidently that never answers: stopped at the timeout, and the checks it
    cannot decide are null (not measured), not passed."""
    never = tmp_path / "python"
    never.write_text("#!/bin/sh\nexec sleep 60\n")
    never.chmod(0o755)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(MONITOR), "--rows", "20000", "--reference-rows", "5000",
         "--features", "10", "--evidently-python", str(never), "--evidently-timeout", "2"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 50  # it did not wait for the minute
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert "timeout 2 s" in out["evidently"]["stopped"]
    assert out["evidently"]["child_seconds"] >= 2
    assert out["speed_goal_uses"] == "cpu"
    assert out["shared_statistics"] == {"compared": 0, "max_abs_diff": None}
    assert out["checks"]["same_statistics_within_1e-3"] is None
    assert out["checks"]["cpu_speedup_at_least_20x"] is None  # sleep used no CPU: no bound


def _epf_module() -> Any:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import epf
    finally:
        sys.path.remove(str(SCRIPT.parent))
    return epf


def _hourly(values: np.ndarray, start: str = "2020-01-01") -> pd.Series:
    index = pd.date_range(start, periods=len(values), freq="h", tz="UTC")
    return pd.Series(values, index=index)


def test_diebold_mariano_calls_a_tie_a_tie() -> None:
    """The epftoolbox's multivariate DM test on daily mean absolute errors (norm 1)."""
    epf = _epf_module()
    rng = np.random.default_rng(0)
    actual = _hourly(rng.normal(50, 10, 60 * 24))
    close = actual + rng.normal(0, 1, actual.size)
    far = actual + rng.normal(0, 3, actual.size)
    other = actual + rng.normal(0, 1, actual.size)
    assert epf.diebold_mariano(actual, close, far)["verdict"] == "better"
    assert epf.diebold_mariano(actual, far, close)["verdict"] == "worse"
    tie = epf.diebold_mariano(actual, close, other)
    assert tie["verdict"] == "tie" and tie["days"] == 60
    assert tie["p_ours_better"] + tie["p_theirs_better"] == pytest.approx(1.0, abs=1e-3)


def test_conformal_bands_cover_80_percent_after_a_regime_shift() -> None:
    """Bands far too narrow, and the noise doubles half-way (a point forecast that follows
    the level): the rolling correction on the previous 28 days' errors gives about 80 %."""
    epf = _epf_module()
    rng = np.random.default_rng(1)
    days = 120
    spread = np.where(np.arange(days * 24) >= 60 * 24, 10.0, 5.0)
    p50 = 50 + np.where(np.arange(days * 24) >= 60 * 24, 15.0, 0.0)
    target = p50 + rng.normal(0, 1, days * 24) * spread
    frame = pd.DataFrame(
        {"target": target, "p10": p50 - 1, "p50": p50, "p90": p50 + 1},
        index=_hourly(target).index,
    )
    raw = epf.coverage(frame["target"], frame["p10"], frame["p90"])
    fixed = epf.conformal(frame)
    late = fixed.index >= fixed.index[0] + pd.Timedelta(days=90)  # 30 days after the shift
    after = epf.coverage(fixed["target"][late], fixed["p10"][late], fixed["p90"][late])
    assert raw < 0.2
    assert 0.72 < after < 0.88
    assert (fixed["p10"] <= fixed["p50"]).all() and (fixed["p50"] <= fixed["p90"]).all()


def test_the_adaptive_blend_weighs_members_by_their_recent_errors_only() -> None:
    epf = _epf_module()
    rng = np.random.default_rng(2)
    target = _hourly(rng.normal(50, 10, 30 * 24))
    good = pd.DataFrame({"target": target, "p10": target - 1, "p50": target, "p90": target + 1})
    noisy = good + rng.normal(0, 5, len(good))[:, None] * [0, 1, 1, 1]  # all three quantiles
    blended, weights = epf.adaptive_blend(good, noisy)
    assert weights[:7] == [0.5] * 7  # nothing seen yet: equal weights
    assert weights[7:] == [1.0] * 23  # then the member that was right before
    day = blended.index.normalize()
    first_week = day < day[0] + pd.Timedelta(days=7)
    np.testing.assert_allclose(
        blended["p50"][first_week], (good["p50"] + noisy["p50"])[first_week] / 2
    )


def test_the_choice_is_made_on_the_validation_period_and_applied_to_the_test() -> None:
    """Validation: two noisy members biased in opposite directions, so a blend of them wins
    there; on the test period the choice is applied as it stands, whatever the test errors
    say (there the second model alone would be best)."""
    epf = _epf_module()
    rng = np.random.default_rng(5)
    target = _hourly(rng.normal(50, 10, 28 * 24))
    noise = rng.normal(0, 1, (2, len(target)))

    def frame(values: pd.Series) -> pd.DataFrame:
        return pd.DataFrame({"target": target, "p10": values - 5, "p50": values, "p90": values + 5})

    first, second = frame(target + 4 * noise[0] + 1), frame(target + 4 * noise[1] - 2.5)
    seen = {"naive": frame(target + 20), "a": first, "b": second}
    choice = epf.choose(target, seen, ("a", "b"))
    errors = choice["validation_mae"]
    assert set(errors) == {
        "naive",
        "a",
        "b",
        "blend_adaptive",
        *(f"blend_{w / 10:g}" for w in range(1, 10)),
    }
    assert choice["candidate"] == min(errors, key=errors.get)
    assert choice["model"] == "blend" and 0 < choice["weight"] < 1
    test = {"naive": frame(target + 20), "a": frame(target + 9), "b": frame(target + 0.5)}
    chosen = epf.chosen_forecast(choice, test, ("a", "b"))
    w = choice["weight"]
    np.testing.assert_allclose(chosen["p50"], target + 9 * w + 0.5 * (1 - w))
    single = epf.chosen_forecast({"model": "b", "weight": None}, test, ("a", "b"))
    assert single is test["b"]


def test_the_demo_benchmark_fails_when_the_demo_does_not_run() -> None:
    """Its check can fail: `helio up` refusing its arguments is no step done, exit 1."""
    done = subprocess.run(
        [sys.executable, str(SCRIPT.parent / "demo.py"), "--for", "soon"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    line = json.loads(done.stdout)
    assert line["met"] is False and line["up_exit"] != 0 and line["steps"] == {}
    assert "--for" in done.stderr  # helio up's own message, passed on
