"""The quantile GBM: three LightGBM quantile regressions of the change from yesterday's price."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import pandas as pd

from ._price_model import (
    QUANTILES,
    _column,
    _feature_columns,
    _fitted,
    _matrix,
    _result,
    _training_rows,
)

__all__ = ["QuantileGBM"]

_DAY_VECTOR = re.compile(r"_h\d\d$")  # price_d1_h07, fc_load_h23: one hour of a day's profile
# ... of a day older than the latest known: prices before D-1, driver forecasts before D
_OLDER_DAY_VECTOR = re.compile(r"^(price_d(?!1_)\d+|fc_.+_d\d+)_h\d\d$")
_GBM_DAY_VECTORS = ("none", "latest", "all")


def _booster_names(columns: Sequence[str]) -> list[str]:
    """Feature names LightGBM accepts (no JSON special characters or spaces), all distinct."""
    names: list[str] = []
    for i, column in enumerate(columns):
        name = re.sub(r"[^0-9A-Za-z_]", "_", column)
        names.append(name if name not in names else f"{name}_{i}")
    return names


class QuantileGBM:
    """Three LightGBM quantile regressions (0.1, 0.5, 0.9) over all periods together.

    ``period`` and ``hour`` are ordinary features and LightGBM handles missing values. Of the
    day vectors (names ending in ``_hHH``: a day's hourly profile) the GBM takes by default
    only the latest day's (``day_vectors="latest"``: D-1's prices, D's driver forecasts);
    ``"all"`` takes them all (slightly better on the EPF data, three times slower), ``"none"``
    none. ``feature_fraction`` < 1 samples columns per tree (LightGBM's). The
    boosters learn ``target - base``, the change from column ``base`` (yesterday's price of
    the period by default; a missing base takes its training median), since trees cannot
    extrapolate a price level they have not seen; ``base=None`` learns the target itself.
    The three predictions are sorted per row, so ``p10 <= p50 <= p90``. Training is
    deterministic for a given ``seed`` (``deterministic``, ``force_row_wise``). ``refit_days``
    and ``update_trees`` make refits in between full ones cheap (see :meth:`fit`).

    Example::

        gbm = QuantileGBM(n_estimators=200).fit(train)
        gbm.predict(test).columns.tolist()
        # ['p10', 'p50', 'p90']
    """

    name = "gbm_quantile"
    quantiles = QUANTILES

    def __init__(
        self,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 20,
        *,
        feature_fraction: float = 1.0,
        day_vectors: str = "latest",
        base: str | None = "price_lag_1d",
        features: Sequence[str] | None = None,
        seed: int = 0,
        n_jobs: int = 1,
        refit_days: int = 1,
        update_trees: int = 0,
        update_days: int = 56,
    ) -> None:
        if min(n_estimators, num_leaves - 1, min_child_samples, n_jobs, refit_days) < 1:
            raise ValueError(
                "need n_estimators, min_child_samples, n_jobs, refit_days >= 1, num_leaves >= 2"
            )
        if update_days < 1:
            raise ValueError(f"update_days must be a whole number >= 1: {update_days!r}")
        if update_trees < 0:
            raise ValueError(f"update_trees must be a whole number >= 0: {update_trees!r}")
        if not learning_rate > 0:
            raise ValueError(f"learning_rate must be positive: {learning_rate!r}")
        if not 0 < feature_fraction <= 1:
            raise ValueError(f"feature_fraction must be in (0, 1]: {feature_fraction!r}")
        if day_vectors not in _GBM_DAY_VECTORS:
            raise ValueError(f"day_vectors must be one of {', '.join(_GBM_DAY_VECTORS)}")
        self.feature_fraction = float(feature_fraction)
        self.day_vectors = day_vectors
        self.n_estimators = int(n_estimators)
        self.learning_rate = float(learning_rate)
        self.num_leaves = int(num_leaves)
        self.min_child_samples = int(min_child_samples)
        self.base = base
        self.features = None if features is None else list(features)
        self.seed = int(seed)
        self.n_jobs = int(n_jobs)
        self.refit_days = int(refit_days)
        self.update_trees = int(update_trees)
        self.update_days = int(update_days)
        self.refit_day_: pd.Timestamp | None = None  # the last training day of the last refit
        self.feature_columns_: list[str] | None = None
        self.base_fill_: float = 0.0
        self.boosters_: list[Any] | None = None

    def _base(self, frame: pd.DataFrame) -> np.ndarray:
        if self.base is None:
            return np.zeros(len(frame))
        base = _column(frame, self.base)
        return np.where(np.isnan(base), self.base_fill_, base)

    def _update(self, train: pd.DataFrame) -> tuple[pd.Timestamp | None, bool]:
        """The last training day, and whether this fit only adds trees to the last one's."""
        if "timestamp" not in train.columns:
            return None, False
        last = pd.to_datetime(train["timestamp"]).max().normalize()
        since = None if self.refit_day_ is None else (last - self.refit_day_).days
        cheap = self.update_trees > 0 and self.boosters_ is not None
        return last, bool(cheap and since is not None and 0 < since < self.refit_days)

    def fit(self, frame: pd.DataFrame) -> Self:
        """Fit the three quantile boosters on the rows with a known target.

        With ``refit_days`` > 1 and ``update_trees`` > 0, refitting a fitted model less than
        ``refit_days`` days after its last full fit (by the last training day) keeps its trees
        and adds ``update_trees`` to each booster, boosted from the old model's predictions
        (LightGBM's ``init_model``) on the rows of the last ``update_days`` days only: a daily
        update at a few per cent of a refit's cost, that follows the recent errors. Features
        and the base's fill stay the full fit's.
        """
        import lightgbm as lgb

        train, y = _training_rows(frame)
        last, update = self._update(train)
        if update and last is not None:  # an update learns from the recent rows only
            stamps = pd.to_datetime(train["timestamp"])
            recent = (stamps >= last - pd.Timedelta(days=self.update_days - 1)).to_numpy()
            train, y = train.loc[recent], y[recent]
        if not update:
            self.feature_columns_ = _feature_columns(train, self.features)
            if self.features is None and self.day_vectors != "all":
                drop = _DAY_VECTOR if self.day_vectors == "none" else _OLDER_DAY_VECTOR
                self.feature_columns_ = [c for c in self.feature_columns_ if not drop.search(c)]
        columns: list[str] = _fitted(self.feature_columns_, self)
        x = _matrix(train, columns)
        if self.base is not None and not update:
            base = _column(train, self.base)
            self.base_fill_ = float(np.nanmedian(base)) if np.isfinite(base).any() else 0.0
        label = y - self._base(train)
        names = _booster_names(columns)
        old: list[Any] = list(self.boosters_ or []) if update else [None] * len(QUANTILES)
        rounds = self.update_trees if update else self.n_estimators
        boosters = []
        for q, init in zip(QUANTILES, old, strict=True):
            params = {
                "objective": "quantile",
                "alpha": q,
                "learning_rate": self.learning_rate,
                "num_leaves": self.num_leaves,
                "min_data_in_leaf": self.min_child_samples,
                "feature_fraction": self.feature_fraction,
                "feature_fraction_seed": self.seed,
                "num_threads": self.n_jobs,
                "seed": self.seed,
                "deterministic": True,
                "force_row_wise": True,
                "verbose": -1,
            }
            data = lgb.Dataset(x, label=label, feature_name=names, params=params)
            boosters.append(lgb.train(params, data, num_boost_round=rounds, init_model=init))
        self.boosters_ = boosters
        if not update:
            self.refit_day_ = last
        return self

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``p10``, ``p50``, ``p90`` on ``frame.index`` (the three sorted per row)."""
        boosters: list[Any] = _fitted(self.boosters_, self)
        x = _matrix(frame, _fitted(self.feature_columns_, self))
        raw = np.zeros((len(frame), len(boosters)))
        if len(frame):
            raw = np.column_stack([b.predict(x, num_threads=self.n_jobs) for b in boosters])
        out = np.sort(raw, axis=1) + self._base(frame)[:, None]
        return _result(frame.index, out[:, 0], out[:, 1], out[:, 2])

    def params(self) -> dict[str, Any]:
        """Flat hyperparameters for experiment tracking."""
        names = (
            "n_estimators",
            "learning_rate",
            "num_leaves",
            "min_child_samples",
            "feature_fraction",
            "day_vectors",
            "seed",
        )
        return {
            "model": self.name,
            **{k: getattr(self, k) for k in names},
            "n_jobs": self.n_jobs,
            "refit_days": self.refit_days,
            "update_trees": self.update_trees,
            "update_days": self.update_days,
            "base": self.base or "none",
            "features": "auto" if self.features is None else ",".join(self.features),
        }
