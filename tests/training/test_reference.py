"""The monitoring reference a training run logs: the last ``reference_days`` days of its feature
rows, however short its backtest, with the backtest's forecasts where it made them; and the
drift a monitoring pass computes against it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from heliograph.core import FixedClock, MonitoringSettings, UsageError, init_project
from heliograph.features import compute_offline
from heliograph.lake import open_lake
from heliograph.ledger import Actual, PredictionRecord, PredictionWriter, record_actuals
from heliograph.monitoring import frame_drift, run_monitor, training_reference
from heliograph.registry import Registry
from heliograph.training import train

from ..apps.tiny.app import CONFIG, PIPELINE, LoadFeatures, requests_for

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:mlflow.*")

MODEL = SERVICE = "meter-load"
START = pd.Timestamp("2025-01-01", tz="UTC")
TRAINED_DAYS, CYCLE = 70, 56
INPUTS = ["load_1d", "load_2d", "hour_sin", "hour_cos"]


def seasonal_readings(days: int) -> pd.DataFrame:
    """Hourly load on a level that cycles over eight weeks (no regime shift: the same
    distribution every cycle), with a daily shape; each reading known an hour on."""
    rng = np.random.default_rng(0)
    stamps = pd.date_range(START, periods=24 * days, freq="h")
    level = 100 + 30 * np.sin(2 * np.pi * np.arange(days) / CYCLE) + rng.normal(0, 2, days)
    shape = 20 * np.sin(2 * np.pi * stamps.hour / 24)
    load = level.repeat(24) + shape + rng.normal(0, 2, len(stamps))
    return pd.DataFrame(
        {
            "meter": "m1",
            "timestamp": stamps,
            "load": load,
            "available_at": stamps + pd.Timedelta("1h"),
        }
    )


def test_a_short_backtest_logs_reference_days_of_features_and_drift_stays_quiet(
    tmp_path: Path,
) -> None:
    data = seasonal_readings(TRAINED_DAYS + CYCLE)
    cut = START + pd.Timedelta(days=TRAINED_DAYS)  # the first day the training never saw
    project = init_project(tmp_path / "tiny", extra=CONFIG).with_clock(
        FixedClock(cut.to_pydatetime())
    )
    lake = open_lake(project)
    lake.ingest("meter_readings", data.loc[data["timestamp"] < cut], origin="generated")
    registry = Registry(project)
    # version 1 with a reference as long as its 7-day backtest (as before); 2 with the default
    train(project, PIPELINE, candidates=["yesterday"], backtest_days=7, reference_days=7)
    train(project, PIPELINE, candidates=["yesterday"], backtest_days=7)

    narrow, wide = (training_reference(registry, MODEL, v) for v in ("1", "2"))
    assert narrow is not None and wide is not None
    # read once per run and process: a monitor pass an hour (or every few seconds of a
    # replay) does not download each version's reference again
    assert training_reference(registry, MODEL, "2") is wide
    assert training_reference(Registry(project), MODEL, "1") is narrow
    assert list(wide.columns) == [*INPUTS, "prediction"]
    # every hour of the 56 days up to the cut (and none after it), the 7 backtest days forecast
    shown = data.set_index("timestamp")["load"]
    hours = pd.date_range(cut - pd.Timedelta(days=56), cut, freq="h", inclusive="left")
    expected = shown.reindex(hours - pd.Timedelta(days=1)).to_numpy()
    assert np.allclose(np.sort(wide["load_1d"].to_numpy()), np.sort(expected))
    assert len(narrow) == 7 * 24 and wide["prediction"].notna().sum() == 7 * 24
    # Yesterday's forecast is yesterday's load: the forecasts are of the backtest's rows
    forecast = wide.dropna(subset=["prediction"])
    assert np.allclose(forecast["prediction"], forecast["load_1d"])
    assert np.allclose(np.sort(forecast["prediction"]), np.sort(narrow["prediction"]))
    # the rows the backtest did not forecast are no predictions to drift: left out, not counted
    some = pd.DataFrame({"prediction": np.linspace(60, 140, 48)})
    [against_wide] = frame_drift(wide, some, columns=["prediction"])
    [against_narrow] = frame_drift(narrow, some, columns=["prediction"])
    assert against_wide.reference_count == 7 * 24
    assert against_wide.statistics == pytest.approx(against_narrow.statistics)

    # live: two days half a cycle on, at the cycle's trough (a level the eight weeks of
    # training held, the last week not), answered by both versions
    lake.ingest("meter_readings", data.loc[data["timestamp"] >= cut], origin="generated")
    live_start = cut + pd.Timedelta(days=CYCLE // 2)
    now = live_start + pd.Timedelta(days=2)
    # each hour asked 22 h ahead: the 48 h drift window holds 48 questions, 48 judged targets
    asked = requests_for(
        "m1", pd.date_range(live_start, now + pd.Timedelta(hours=22), freq="h", inclusive="left")
    )
    live = compute_offline(lake, LoadFeatures(), asked)
    url = project.ledger_url
    with PredictionWriter(url, tmp_path / "spool") as writer:
        for row in live.itertuples():
            for version, role in (("1", "champion"), ("2", "challenger")):
                writer.submit(
                    PredictionRecord(
                        SERVICE, MODEL, version, role, f"{version}-{row.Index}", "h",
                        {"p50": row.load_1d}, 1.0,
                        inputs={"columns": INPUTS, "data": [[getattr(row, c) for c in INPUTS]]},
                        as_of=row.as_of, target_start=row.timestamp, target_end=row.timestamp,
                        at=row.as_of,
                    )
                )  # fmt: skip
    realised = live["timestamp"][live["timestamp"] < now]
    record_actuals(url, [Actual(SERVICE, MODEL, t, float(shown[t])) for t in realised])
    # thresholds a 48 h window is judged by against weeks of reference (as the energy demo's)
    settings = MonitoringSettings(psi=12.0, ks=0.95, wasserstein=3.0, watch={SERVICE: ["load_*"]})
    outcome = run_monitor(
        url, now=now.to_pydatetime(), settings=settings,
        references=lambda name, version: training_reference(registry, name, version),
    )  # fmt: skip
    assert outcome.no_verdict == []
    drifted = {a.subject: a.features for a in outcome.alerts if a.kind == "drift"}
    # the 7-day reference calls the cycle's trough drift; the 56-day one knows it
    assert drifted == {f"{SERVICE}/{MODEL}/v1/champion": ("load_1d", "load_2d")}, drifted
    wasserstein = {
        r.model_version: r.value
        for r in outcome.results
        if r.kind == "drift" and r.feature == "load_1d" and r.name == "wasserstein"
    }
    assert wasserstein["1"] > 3.0 > 1.5 > wasserstein["2"], wasserstein


def test_reference_days_is_at_least_one(tmp_path: Path) -> None:
    project = init_project(tmp_path / "tiny", extra=CONFIG)
    with pytest.raises(UsageError, match="reference_days is 0") as info:
        train(project, PIPELINE, backtest_days=7, reference_days=0)
    assert info.value.field == "--reference-days"
