"""LEAR predicts every row at once (its period models stacked on the design matrix): the same
forecasts as each period's model on its own rows, a period without a model by the nearest."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd

from heliograph.apps.energy import Lear
from tests.apps.energy.test_models import synthetic_features


def per_period(model: Lear, frame: pd.DataFrame) -> np.ndarray:
    """The point forecast the plain way: one period model at a time (as LEAR did before)."""
    design, _ = model._design(frame)
    periods = frame["period"].to_numpy().astype(np.int64)
    mid = np.zeros(len(frame))
    assert model.members_
    for models in model.members_:
        trained = np.array(sorted(models))
        for p in np.unique(periods):
            rows = periods == p
            nearest = int(trained[np.argmin(np.abs(trained - p))])
            mid[rows] += models[nearest].predict(design[rows])
    return mid / len(model.members_)


def test_stacked_forecasts_equal_each_period_models() -> None:
    frame = synthetic_features(days=140, seed=3)
    train, test = frame.iloc[: 120 * 24], frame.iloc[120 * 24 :].copy()
    model = Lear(windows=(56, 84)).fit(train)
    assert model.members_ is not None and len(model.members_) == 2
    test.loc[test.index[::5], "price_lag_1d"] = np.nan  # missing values take the medians
    test.loc[test.index[3], "fc_wind_forecast"] = 1e9  # far outside training: clipped
    expected = per_period(model, test)
    got = model.predict(test)["p50"].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-9)
    # a period without a model (hour 25 of a long day) takes the nearest period's
    odd = test.iloc[:3].assign(period=[0, 23, 30])
    np.testing.assert_allclose(
        model.predict(odd)["p50"].to_numpy(), per_period(model, odd), rtol=1e-12
    )
    # the stacked form is made again after unpickling, not stored
    again = pickle.loads(pickle.dumps(model))
    assert "_stacked_" not in again.__dict__
    pd.testing.assert_frame_equal(again.predict(test), model.predict(test), check_exact=True)
