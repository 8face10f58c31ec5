"""Our LEAR against the published one: the epftoolbox's single-window LEAR forecasts of the EPF
paper (``reference-forecasts/`` beside the shared EPF data), recalibrated daily as they were.

Skipped when the shared data is not there (the project's tests must run without it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from heliograph.apps.energy import Lear, PriceFeatures, forecast_requests, read_epf
from heliograph.training import backtest

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "epf"
WINDOW, DAYS = 1092, 2  # n > p: the toolbox's fit is well posed, so it can be reproduced


@pytest.mark.skipif(not (DATA / "BE.csv").is_file(), reason="the shared EPF data is not here")
def test_our_lear_reproduces_the_published_single_window_forecasts() -> None:
    frames = read_epf(DATA / "BE.csv")
    reference = pd.read_csv(
        DATA / "reference-forecasts" / "Forecasts_BE_DNN_LEAR_ensembles.csv", index_col=0
    )
    reference.index = pd.to_datetime(reference.index).tz_localize("UTC")
    first = reference.index[0].normalize()  # the test period's first day, 2015-01-04
    days = pd.date_range(first - pd.Timedelta(days=WINDOW), first + pd.Timedelta(days=DAYS - 1))
    features = PriceFeatures().compute(frames, forecast_requests(["BE"], days, "60min"))
    result = backtest(
        features,
        lambda: Lear(windows=(WINDOW,)),
        start=first,
        end=days[-1],
        recalibrate="daily",
        train_days=WINDOW + 1,
        keys=("market",),
    )
    ours = result.predictions.set_index("timestamp")["p50"]
    theirs = reference.loc[ours.index, f"LEAR {WINDOW}"]
    real = reference.loc[ours.index, "Real price"]
    assert len(ours) == DAYS * 24 and result.fits == DAYS
    # Measured: 0.018 EUR/MWh over these hours (3 days: 0.018; 1456 days: 0.012 over 3 days),
    # against an error of 4.4 EUR/MWh against the real prices: the same model, to rounding.
    assert float(np.mean(np.abs(ours - theirs))) < 0.05
    assert float(np.max(np.abs(ours - theirs))) < 0.5
    assert abs(np.mean(np.abs(ours - real)) - np.mean(np.abs(theirs - real))) < 0.05
