"""LEAR (Lago et al. 2021): one LASSO per period of the day on variance-stabilised prices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import pandas as pd

from ._price_model import (
    _TINY,
    QUANTILES,
    _Bands,
    _column,
    _feature_columns,
    _fitted,
    _matrix,
    _periods,
    _result,
    _training_rows,
)

__all__ = ["LEAR_WINDOWS", "Lear"]

LEAR_WINDOWS: tuple[int, ...] = (56, 84, 1092, 1456)  # days: the EPF paper's LEAR ensemble
_MAD_TO_SIGMA = 1.482602218505602  # 1 / Phi^-1(0.75): the MAD of a normal sample -> sigma
_MIN_PERIOD_ROWS = 10  # fewer rows in a period: LEAR uses the nearest period's model
_PLAIN, _PRICE, _DUMMY = 0, 1, 2  # LEAR column kinds: mean/std, median/MAD + asinh, 0/1


def _robust_scale(values: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """The normal-consistent MAD per column; the std where the MAD is 0."""
    mad = np.median(np.abs(values - centre), axis=0) * _MAD_TO_SIGMA
    return np.where(mad > _TINY, mad, values.std(axis=0))


_Z_LIMIT = 8.0


@dataclass(frozen=True)
class _PeriodFit:
    """One period's LASSO, stated on the columns of the raw design matrix of :class:`Lear`."""

    columns: np.ndarray  # indices of the columns kept
    fill: np.ndarray  # their training medians, for missing values
    centre: np.ndarray
    scale: np.ndarray
    asinh: np.ndarray  # bool: a price-like column
    coef: np.ndarray
    intercept: float
    y_centre: float
    y_scale: float
    low: float = -np.inf  # the transformed target's training range, widened by one unit
    high: float = np.inf

    def predict(self, design: np.ndarray) -> np.ndarray:
        x = design[:, self.columns]
        z = (np.where(np.isnan(x), self.fill, x) - self.centre) / self.scale
        # A feature far outside its training range (a nearly constant column that moved) must
        # not push a linear model to absurd prices: inputs stay within ±_Z_LIMIT deviations.
        z = np.clip(np.where(self.asinh, np.arcsinh(z), z), -_Z_LIMIT, _Z_LIMIT)
        zy = np.clip(z @ self.coef + self.intercept, self.low, self.high)
        return np.sinh(zy) * self.y_scale + self.y_centre


class Lear:
    """LEAR: one LASSO per period of the day, on variance-stabilised prices.

    Inputs: every feature column but ``dow`` (replaced by six day-of-week dummies, Monday the
    reference) and ``is_weekend`` (redundant with the dummies). Per period, price-like columns
    (``target`` and names starting with ``price_``) are centred on their training median,
    divided by their normal-consistent MAD and passed through ``asinh`` (the EPF toolbox's
    "Invariant" transform); other features are standardised by mean and std; the dummies stay
    0/1; columns constant in the period (``period``, ``hour``) are dropped. A missing value
    takes the period's training median, with no indicator column. The penalty is chosen per
    period by ``LassoLarsIC(criterion="aic")`` when ``alpha`` is None, else ``Lasso(alpha)``.
    Predictions go back through ``sinh`` and the target's median and MAD. AIC's noise variance
    comes from OLS if there are twice as many rows as inputs, else from the target (sparser).
    A period with under 10 training rows (a DST day's 25th hour) uses the nearest period's
    model. Intervals: training residual quantiles per period, as :class:`SeasonalNaive`'s.
    BLAS runs on one thread while fitting: the matrices are small and threads only contend.

    ``windows`` makes it the paper's *LEAR ensemble*: one LEAR per calibration window (the
    last 56, 84, 1092 and 1456 days of the training rows by default), and the point forecast
    is their mean. Short windows follow a regime change within weeks, long ones keep the
    seasons. A window longer than the training rows adds no member (members differ in what
    they saw); ``windows=None`` fits a single LEAR on every training row.

    Example::

        Lear().fit(train).predict(test).shape
        # (1440, 3)
    """

    name = "lear"
    quantiles = QUANTILES

    def __init__(
        self,
        alpha: float | None = None,
        *,
        windows: Sequence[int] | None = LEAR_WINDOWS,
        features: Sequence[str] | None = None,
    ):
        if alpha is not None and not alpha > 0:
            raise ValueError(f"alpha must be positive, or None to choose it by AIC: {alpha!r}")
        if windows is not None and (not windows or min(int(w) for w in windows) < 1):
            raise ValueError(f"windows must be whole numbers of days >= 1, or None: {windows!r}")
        self.alpha = alpha
        self.windows = None if windows is None else tuple(sorted({int(w) for w in windows}))
        self.features = None if features is None else list(features)
        self.feature_columns_: list[str] | None = None
        self.members_: list[dict[int, _PeriodFit]] | None = None
        self.bands_: _Bands | None = None

    def _design(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """The raw design matrix (features, then the dow dummies) and each column's kind."""
        features: list[str] = _fitted(self.feature_columns_, self)
        use_dow = "dow" in features
        columns = [c for c in features if not (use_dow and c in ("dow", "is_weekend"))]
        design = _matrix(frame, columns)
        kinds = [_PRICE if c.startswith("price_") else _PLAIN for c in columns]
        if use_dow:
            dow = _column(frame, "dow")
            design = np.hstack([design, (dow[:, None] == np.arange(1, 7)).astype(np.float64)])
            kinds += [_DUMMY] * 6
        return design, np.asarray(kinds)

    def _fit_period(self, design: np.ndarray, kinds: np.ndarray, y: np.ndarray) -> _PeriodFit:
        from sklearn.linear_model import Lasso, LassoLarsIC

        observed = ~np.isnan(design).all(axis=0)
        fill = np.zeros(design.shape[1])
        fill[observed] = np.nanmedian(design[:, observed], axis=0)
        x = np.where(np.isnan(design), fill, design)
        price, dummy, std = kinds == _PRICE, kinds == _DUMMY, x.std(axis=0)
        centre = np.where(price, fill, np.where(dummy, 0.0, x.mean(axis=0)))
        scale = np.where(price, _robust_scale(x, fill), np.where(dummy, 1.0, std))
        keep = np.flatnonzero(observed & (std > _TINY) & (scale > _TINY))
        # A column equal to an earlier one (an aligned lag and its hour in a day vector) adds
        # nothing but a tie for LARS: keep the first.
        _, first = np.unique(x[:, keep], axis=1, return_index=True)
        keep = keep[np.sort(first)]
        centre, scale, fill, asinh = centre[keep], scale[keep], fill[keep], price[keep]
        z = (x[:, keep] - centre) / scale
        z = np.where(asinh, np.arcsinh(z), z)

        y_centre = float(np.median(y))
        y_scale = float(_robust_scale(y[:, None], np.array([y_centre]))[0])
        y_scale = y_scale if y_scale > _TINY else 1.0
        zy = np.arcsinh((y - y_centre) / y_scale)
        coef, intercept = np.zeros(keep.size), float(zy.mean())
        if keep.size:
            if self.alpha is None:
                few = len(zy) < 2 * (keep.size + 2)  # too few for the OLS noise estimate: var(y)
                noise = max(float(zy.var()), _TINY) if few else None
                lasso: Any = LassoLarsIC(criterion="aic", noise_variance=noise)
            else:
                lasso = Lasso(alpha=self.alpha, max_iter=10_000)
            lasso.fit(z, zy)
            coef, intercept = np.asarray(lasso.coef_, dtype=np.float64), float(lasso.intercept_)
        return _PeriodFit(
            keep,
            fill,
            centre,
            scale,
            asinh,
            coef,
            intercept,
            y_centre,
            y_scale,
            float(zy.min()) - 1.0,
            float(zy.max()) + 1.0,
        )

    def _predict_mid(self, frame: pd.DataFrame) -> np.ndarray:
        members: list[dict[int, _PeriodFit]] = _fitted(self.members_, self)
        design, _ = self._design(frame)
        periods = _periods(frame)
        mid = np.zeros(len(frame))
        for models in members:
            trained = np.array(sorted(models))
            for p in np.unique(periods):
                rows = periods == p
                nearest = int(trained[np.argmin(np.abs(trained - p))])
                mid[rows] += models[nearest].predict(design[rows])
        return mid / len(members)

    def _window_rows(self, train: pd.DataFrame) -> list[np.ndarray]:
        """Boolean row masks, one per calibration window that holds rows no shorter one has."""
        everything = np.ones(len(train), dtype=bool)
        if self.windows is None:
            return [everything]
        if "timestamp" not in train.columns:
            raise ValueError("LEAR with calibration windows needs a 'timestamp' column")
        stamps = pd.to_datetime(train["timestamp"])
        last, masks, seen = stamps.max(), [], -1
        for days in self.windows:
            rows = (stamps > last - pd.Timedelta(days=days)).to_numpy()
            if rows.sum() > seen:
                masks.append(rows)
                seen = int(rows.sum())
        return masks

    def fit(self, frame: pd.DataFrame) -> Self:
        """One LASSO per period and window on the rows with a known target, then the bands."""
        from threadpoolctl import threadpool_limits

        train, y = _training_rows(frame)
        self.feature_columns_ = _feature_columns(train, self.features)
        design, kinds = self._design(train)
        periods = _periods(train)
        members = []
        with threadpool_limits(limits=1, user_api="blas"):
            for rows in self._window_rows(train):
                fits = {
                    int(p): self._fit_period(design[use], kinds, y[use])
                    for p in np.unique(periods[rows])
                    if np.count_nonzero(use := rows & (periods == p)) >= _MIN_PERIOD_ROWS
                }
                if fits:
                    members.append(fits)
            if not members:
                raise ValueError(f"LEAR needs {_MIN_PERIOD_ROWS} rows in at least one period")
            self.members_ = members
            self.bands_ = _Bands.fit(periods, y - self._predict_mid(train))
        return self

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``p10``, ``p50``, ``p90`` on ``frame.index``; missing features take training medians."""
        bands: _Bands = _fitted(self.bands_, self)
        mid = self._predict_mid(frame)
        lower, upper = bands.offsets(_periods(frame))
        return _result(frame.index, mid + lower, mid, mid + upper)

    def params(self) -> dict[str, Any]:
        """Flat hyperparameters for experiment tracking (``alpha="aic"``: chosen per period)."""
        alpha = "aic" if self.alpha is None else float(self.alpha)
        features = "auto" if self.features is None else ",".join(self.features)
        windows = "all" if self.windows is None else ",".join(map(str, self.windows))
        return {"model": self.name, "alpha": alpha, "windows": windows, "features": features}
