"""Day-ahead price forecasters with one interface: a seasonal naive, LEAR and a quantile GBM.

Every model reads the feature frame (one row per market and target period, forecast made at
``as_of``), fits on the rows whose ``target`` is known and predicts three quantiles, columns
``p10``, ``p50``, ``p90``, on the frame's index, with ``p10 <= p50 <= p90`` on every row.

Features are the columns given at construction or, by default, every numeric column except
``target`` and the identifiers ``market``, ``timestamp`` and ``as_of``. A frame with several
markets is pooled (``market`` is not a feature); fit one model per market to keep them apart.
Missing feature values are handled: LightGBM natively, LEAR by the training median (no
indicator), the seasonal naive by a fallback lag.

- :class:`SeasonalNaive`: the price a week earlier, the EPF benchmark's rMAE baseline;
- :class:`Lear`: one LASSO per period of the day on asinh-stabilised prices (Lago et al. 2021);
- :class:`QuantileGBM`: three LightGBM quantile regressions of the change from yesterday's
  price, all periods together;
- :class:`Blend`: the mean of LEAR's and the GBM's forecasts (their errors differ, so the mean
  beats both).

>>> make_model("lear").fit(train).predict(test).columns.tolist()  # doctest: +SKIP
['p10', 'p50', 'p90']
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, Self, runtime_checkable

import numpy as np
import pandas as pd

__all__ = [
    "LEAR_WINDOWS",
    "MODEL_NAMES",
    "PREDICTION_COLUMNS",
    "QUANTILES",
    "Blend",
    "Lear",
    "PriceModel",
    "QuantileGBM",
    "SeasonalNaive",
    "combine",
    "make_model",
]

QUANTILES: tuple[float, ...] = (0.1, 0.5, 0.9)
PREDICTION_COLUMNS: tuple[str, ...] = ("p10", "p50", "p90")
MODEL_NAMES: tuple[str, ...] = ("seasonal_naive", "lear", "gbm_quantile", "blend")

LEAR_WINDOWS: tuple[int, ...] = (56, 84, 1092, 1456)  # days: the EPF paper's LEAR ensemble
_DAY_VECTOR = re.compile(r"_h\d\d$")  # price_d1_h07, fc_load_h23: one hour of a day's profile
# ... of a day older than the latest known: prices before D-1, driver forecasts before D
_OLDER_DAY_VECTOR = re.compile(r"^(price_d(?!1_)\d+|fc_.+_d\d+)_h\d\d$")
_GBM_DAY_VECTORS = ("none", "latest", "all")
_TARGET = "target"
_PERIOD = "period"
_NOT_FEATURES = frozenset({"market", "timestamp", "as_of", _TARGET, "target_available_at"})
_MAD_TO_SIGMA = 1.482602218505602  # 1 / Phi^-1(0.75): the MAD of a normal sample -> sigma
_TINY = 1e-12
_MIN_BAND_ROWS = 20  # fewer residuals in a period: its band is the pooled one
_MIN_PERIOD_ROWS = 10  # fewer rows in a period: LEAR uses the nearest period's model
_PLAIN, _PRICE, _DUMMY = 0, 1, 2  # LEAR column kinds: mean/std, median/MAD + asinh, 0/1


@runtime_checkable
class PriceModel(Protocol):
    """What every forecaster offers.

    >>> model: PriceModel = make_model("seasonal_naive")
    >>> model.fit(train).predict(test).columns.tolist()  # doctest: +SKIP
    ['p10', 'p50', 'p90']
    """

    name: str
    quantiles: tuple[float, ...]

    def fit(self, frame: pd.DataFrame) -> Self: ...  # on the rows with a known target
    def predict(self, frame: pd.DataFrame) -> pd.DataFrame: ...  # p10, p50, p90 on frame.index
    def params(self) -> dict[str, Any]: ...  # flat: str, int, float or bool values


# --- shared helpers ------------------------------------------------------------------------


def _feature_columns(frame: pd.DataFrame, features: Sequence[str] | None) -> list[str]:
    if features is None:
        features = [
            c
            for c in frame.columns
            if isinstance(c, str)
            and c not in _NOT_FEATURES
            and pd.api.types.is_numeric_dtype(frame[c].dtype)
        ]
        if not features:
            raise ValueError("the frame has no numeric feature column")
    _matrix(frame.iloc[:0], features)  # checks that they exist
    return list(features)


def _matrix(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"columns missing from the frame: {missing}")
    return frame[list(columns)].to_numpy(dtype=np.float64, na_value=np.nan)


def _column(frame: pd.DataFrame, column: str) -> np.ndarray:
    return _matrix(frame, [column])[:, 0]


def _training_rows(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows with a finite target, and that target."""
    target = _column(frame, _TARGET)
    known = np.isfinite(target)
    if not known.any():
        raise ValueError("no row with a known target to fit on")
    return frame.loc[known], target[known]


def _periods(frame: pd.DataFrame) -> np.ndarray:
    values = _column(frame, _PERIOD)
    if np.isnan(values).any():
        raise ValueError(f"column {_PERIOD!r} has missing values")
    return values.astype(np.int64)


def _result(index: pd.Index, lower: np.ndarray, mid: np.ndarray, upper: np.ndarray) -> pd.DataFrame:
    columns = dict(zip(PREDICTION_COLUMNS, (lower, mid, upper), strict=True))
    return pd.DataFrame(columns, index=index, dtype=np.float64)


def _fitted(value: Any, model: object) -> Any:
    if value is None:
        raise RuntimeError(f"{type(model).__name__} is not fitted: call fit() first")
    return value


@dataclass(frozen=True)
class _Bands:
    """The 10 % and 90 % quantiles of training residuals per period (pooled as fallback),
    clipped to ``lower <= 0 <= upper`` so that the band always holds the point forecast."""

    periods: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    pooled: tuple[float, float]

    @classmethod
    def fit(cls, periods: np.ndarray, residuals: np.ndarray) -> _Bands:
        ok = np.isfinite(residuals)
        if not ok.any():
            raise ValueError("no finite training residual to build the intervals from")
        periods, residuals = periods[ok], residuals[ok]
        probs = [QUANTILES[0], QUANTILES[-1]]
        rows = []
        for p in np.unique(periods):
            r = residuals[periods == p]
            if r.size >= _MIN_BAND_ROWS:
                rows.append((p, *np.quantile(r, probs)))
        keys, lo, hi = np.asarray(rows, dtype=np.float64).reshape(-1, 3).T
        pooled = np.quantile(residuals, probs)
        pooled_band = (min(float(pooled[0]), 0.0), max(float(pooled[1]), 0.0))
        return cls(keys.astype(np.int64), np.minimum(lo, 0.0), np.maximum(hi, 0.0), pooled_band)

    def offsets(self, periods: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keys = np.append(self.periods, np.iinfo(np.int64).max)  # a sentinel: never found
        idx = np.minimum(np.searchsorted(keys, periods), self.periods.size)
        found = keys[idx] == periods
        lower, upper = np.append(self.lower, 0.0)[idx], np.append(self.upper, 0.0)[idx]
        return np.where(found, lower, self.pooled[0]), np.where(found, upper, self.pooled[1])


# --- seasonal naive ------------------------------------------------------------------------


class SeasonalNaive:
    """The price of the same period one week earlier, with residual-quantile intervals.

    ``p50`` is column ``lag``; where it is missing, column ``fallback`` (if the frame has it;
    ``None`` for no fallback). ``p10``/``p90`` add the 10 %/90 % quantiles of the training
    residuals ``target - p50`` of the row's period. Fitting only computes those quantiles.

    >>> naive = SeasonalNaive().fit(train)
    >>> bool((naive.predict(test)["p50"] == test["price_lag_7d"]).all())  # doctest: +SKIP
    True
    """

    name = "seasonal_naive"
    quantiles = QUANTILES

    def __init__(self, lag: str = "price_lag_7d", fallback: str | None = "price_lag_1d") -> None:
        self.lag = lag
        self.fallback = fallback
        self.bands_: _Bands | None = None

    def _point(self, frame: pd.DataFrame) -> np.ndarray:
        point = _column(frame, self.lag)
        if self.fallback is not None and self.fallback in frame.columns:
            point = np.where(np.isnan(point), _column(frame, self.fallback), point)
        return point

    def fit(self, frame: pd.DataFrame) -> Self:
        """Learn the residual quantiles per period on the rows with a known target."""
        train, y = _training_rows(frame)
        self.bands_ = _Bands.fit(_periods(train), y - self._point(train))
        return self

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``p10``, ``p50``, ``p90`` on ``frame.index``; NaN only where both lags are NaN."""
        bands: _Bands = _fitted(self.bands_, self)
        mid = self._point(frame)
        lower, upper = bands.offsets(_periods(frame))
        return _result(frame.index, mid + lower, mid, mid + upper)

    def params(self) -> dict[str, Any]:
        """Flat hyperparameters for experiment tracking."""
        return {"model": self.name, "lag": self.lag, "fallback": self.fallback or "none"}


# --- LEAR ----------------------------------------------------------------------------------


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

    >>> Lear().fit(train).predict(test).shape  # doctest: +SKIP
    (1440, 3)
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


# --- quantile GBM --------------------------------------------------------------------------


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
    deterministic for a given ``seed`` (``deterministic``, ``force_row_wise``).

    >>> gbm = QuantileGBM(n_estimators=200).fit(train)
    >>> gbm.predict(test).columns.tolist()  # doctest: +SKIP
    ['p10', 'p50', 'p90']
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
    ) -> None:
        if min(n_estimators, num_leaves - 1, min_child_samples, n_jobs) < 1:
            raise ValueError("need n_estimators, min_child_samples, n_jobs >= 1, num_leaves >= 2")
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
        self.feature_columns_: list[str] | None = None
        self.base_fill_: float = 0.0
        self.boosters_: list[Any] | None = None

    def _base(self, frame: pd.DataFrame) -> np.ndarray:
        if self.base is None:
            return np.zeros(len(frame))
        base = _column(frame, self.base)
        return np.where(np.isnan(base), self.base_fill_, base)

    def fit(self, frame: pd.DataFrame) -> Self:
        """Fit the three quantile boosters on the rows with a known target."""
        import lightgbm as lgb

        train, y = _training_rows(frame)
        self.feature_columns_ = _feature_columns(train, self.features)
        if self.features is None and self.day_vectors != "all":
            drop = _DAY_VECTOR if self.day_vectors == "none" else _OLDER_DAY_VECTOR
            self.feature_columns_ = [c for c in self.feature_columns_ if not drop.search(c)]
        x = _matrix(train, self.feature_columns_)
        if self.base is not None:
            base = _column(train, self.base)
            self.base_fill_ = float(np.nanmedian(base)) if np.isfinite(base).any() else 0.0
        label = y - self._base(train)
        names = _booster_names(self.feature_columns_)
        boosters = []
        for q in QUANTILES:
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
            boosters.append(lgb.train(params, data, num_boost_round=self.n_estimators))
        self.boosters_ = boosters
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
            "base": self.base or "none",
            "features": "auto" if self.features is None else ",".join(self.features),
        }


# --- blend ---------------------------------------------------------------------------------


def combine(forecasts: Sequence[pd.DataFrame], weights: Sequence[float]) -> pd.DataFrame:
    """The weighted mean of forecasts (``p10``, ``p50``, ``p90`` on one index), sorted per row.

    >>> combine([lear.predict(test), gbm.predict(test)], [0.5, 0.5])  # doctest: +SKIP
    """
    if not forecasts or len(forecasts) != len(weights):
        raise ValueError("combine needs one weight per forecast, and at least one forecast")
    index = forecasts[0].index
    total = np.zeros((len(index), len(PREDICTION_COLUMNS)))
    for forecast, weight in zip(forecasts, weights, strict=True):
        if not forecast.index.equals(index):
            raise ValueError("the forecasts to combine are not on the same index")
        total += weight * forecast[list(PREDICTION_COLUMNS)].to_numpy(dtype=np.float64)
    out = np.sort(total / float(np.sum(weights)), axis=1)
    return _result(index, out[:, 0], out[:, 1], out[:, 2])


class Blend:
    """The weighted mean of other models' forecasts: by default LEAR's and the GBM's, equally.

    A forecast combination: LEAR is linear in yesterday's whole price profile and the driver
    forecasts, the GBM is a tree model of the change from yesterday; their errors are far from
    perfectly correlated, so their mean beats each of them (``benchmarks/README.md`` has the
    figures). Equal weights are the robust default: weights tuned on past errors rarely beat
    them out of sample. Each member is fit on the same rows with its default parameters.
    ``p10``/``p90`` are the weighted means of the members' quantiles (then sorted per row).

    >>> Blend().fit(train).predict(test).columns.tolist()  # doctest: +SKIP
    ['p10', 'p50', 'p90']
    """

    name = "blend"
    quantiles = QUANTILES

    def __init__(
        self,
        members: Sequence[str] = ("lear", "gbm_quantile"),
        weights: Sequence[float] | None = None,
    ) -> None:
        members = tuple(members)
        wrong = [m for m in members if m not in MODEL_NAMES or m == self.name]
        if not members or wrong:
            raise ValueError(
                f"blend members must be other models of {', '.join(MODEL_NAMES)}: "
                f"{wrong[0] if wrong else 'none given'!r}"
            )
        weights = tuple(float(w) for w in weights) if weights is not None else None
        if weights is not None and (
            len(weights) != len(members) or not all(w >= 0 for w in weights) or not sum(weights)
        ):
            raise ValueError(
                f"blend weights must be one non-negative number per member, not all 0: {weights}"
            )
        self.members = members
        self.weights = weights or tuple(1.0 / len(members) for _ in members)
        self.models_: list[PriceModel] | None = None

    @classmethod
    def of(cls, fitted: Sequence[PriceModel], weights: Sequence[float] | None = None) -> Blend:
        """A fitted blend of models already fit (on the same rows, for a meaningful blend)."""
        blend = cls(members=[model.name for model in fitted], weights=weights)
        blend.models_ = list(fitted)
        return blend

    def fit(self, frame: pd.DataFrame) -> Self:
        """Fit every member on the frame."""
        self.models_ = [make_model(name).fit(frame) for name in self.members]
        return self

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``p10``, ``p50``, ``p90`` on ``frame.index``: :func:`combine` of the members'."""
        models: list[PriceModel] = _fitted(self.models_, self)
        return combine([model.predict(frame) for model in models], self.weights)

    def params(self) -> dict[str, Any]:
        """Flat hyperparameters for experiment tracking."""
        return {
            "model": self.name,
            "members": ",".join(self.members),
            "weights": ",".join(f"{w:g}" for w in self.weights),
        }


_MODELS: dict[str, type] = dict(
    zip(MODEL_NAMES, (SeasonalNaive, Lear, QuantileGBM, Blend), strict=True)
)


def make_model(name: str, **params: Any) -> PriceModel:
    """A model by name (one of :data:`MODEL_NAMES`), with its hyperparameters.

    >>> make_model("gbm_quantile", n_estimators=100).params()["n_estimators"]
    100
    """
    cls = _MODELS.get(name)
    if cls is None:
        raise ValueError(f"unknown model {name!r}: known models are {', '.join(MODEL_NAMES)}")
    try:
        inspect.signature(cls).bind(**params)
    except TypeError as exc:
        raise ValueError(f"model {name!r}: {exc}") from None
    return cls(**params)
