"""LEAR (Lago et al. 2021; the epftoolbox): one LASSO per period of the day, asinh-scaled."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import pandas as pd

from ._price_model import (
    _TINY,
    QUANTILES,
    _Bands,
    _Columns,
    _feature_columns,
    _fitted,
    _result,
    _training_rows,
)

__all__ = ["LEAR_WINDOWS", "Lear"]

LEAR_WINDOWS: tuple[int, ...] = (56, 84, 1092, 1456)  # days: the EPF paper's LEAR ensemble
_LAG_DAYS = 7  # the first week of a calibration window only feeds the lags (epftoolbox)
_MAD_TO_SIGMA = 1.482602218505602  # 1 / Phi^-1(0.75): the MAD of a normal sample -> sigma
_MIN_PERIOD_ROWS = 10  # fewer rows in a period: LEAR uses the nearest period's model
_LARS_MAX_ITER = 2500  # the epftoolbox's max_iter (LARS steps, coordinate-descent sweeps)
_LARS_FIRST_STEPS = 120  # LARS steps computed before checking whether the rest can matter
_BAND_DAYS = 364  # the interval bands come from the last year of training rows
_LARS_MARGIN = 10  # active inputs beyond the bound before the path is cut (drops are rare)
# The paper's inputs: the day vectors, the whole hourly profile of D-1, D-2, D-3, D-7 prices
# and of D, D-1, D-7 driver forecasts (names ending in _hHH), and the day-of-week dummies.
_DAY_VECTOR = re.compile(r"^(price_d\d+|fc_.+)_h\d\d$")
_NOT_INPUTS = frozenset({"period", "hour"})  # constant within a period's model


def _robust_scale(values: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """The normal-consistent MAD per column; the std where the MAD is 0."""
    mad = np.median(np.abs(values - centre), axis=0) * _MAD_TO_SIGMA
    return np.where(mad > _TINY, mad, values.std(axis=0))


_Z_LIMIT = 8.0
_STACKED_ROWS = 2048


@dataclass(frozen=True)
class _PeriodFit:
    """One period's LASSO, stated on the columns of the raw design matrix of :class:`Lear`."""

    columns: np.ndarray  # indices of the columns kept
    fill: np.ndarray  # their training medians, for missing values
    centre: np.ndarray
    scale: np.ndarray
    asinh: np.ndarray  # bool: a transformed column (every input but the dummies)
    coef: np.ndarray
    intercept: float
    y_centre: float
    y_scale: float
    low: float = -np.inf  # the transformed target's training range, widened by one unit
    high: float = np.inf
    alpha: float = np.nan  # the penalty chosen

    def predict(self, design: np.ndarray) -> np.ndarray:
        x = design[:, self.columns]
        z = (np.where(np.isnan(x), self.fill, x) - self.centre) / self.scale
        # A feature far outside its training range (a nearly constant column that moved) must
        # not push a linear model to absurd prices: inputs stay within ±_Z_LIMIT deviations.
        z = np.clip(np.where(self.asinh, np.arcsinh(z), z), -_Z_LIMIT, _Z_LIMIT)
        zy = np.clip(z @ self.coef + self.intercept, self.low, self.high)
        return np.sinh(zy) * self.y_scale + self.y_centre


@dataclass(frozen=True)
class _Stacked:
    """One member's period models stated on every column of the design matrix (a column a
    model does not use: fill 0, centre 0, scale 1, no asinh, coefficient 0), one row per
    model: every row of a frame is predicted at once, its model's parameters gathered by row,
    instead of one small computation per period. Elementwise the same arithmetic as
    ``_PeriodFit.predict``; only the dot product's summation order differs (~1e-16)."""

    periods: np.ndarray  # the periods with a model, sorted
    fill: np.ndarray  # (models, width)
    centre: np.ndarray
    scale: np.ndarray
    asinh: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray  # (models,)
    low: np.ndarray
    high: np.ndarray
    y_centre: np.ndarray
    y_scale: np.ndarray

    @classmethod
    def of(cls, models: dict[int, _PeriodFit], width: int) -> _Stacked:
        periods = np.array(sorted(models), dtype=np.int64)
        k = len(periods)
        fill, centre, coef = np.zeros((k, width)), np.zeros((k, width)), np.zeros((k, width))
        scale, asinh = np.ones((k, width)), np.zeros((k, width), dtype=bool)
        for i, p in enumerate(periods):
            fit = models[int(p)]
            fill[i, fit.columns], centre[i, fit.columns] = fit.fill, fit.centre
            scale[i, fit.columns], asinh[i, fit.columns] = fit.scale, fit.asinh
            coef[i, fit.columns] = fit.coef
        fits = [models[int(p)] for p in periods]

        def each(name: str) -> np.ndarray:
            return np.array([float(getattr(f, name)) for f in fits])

        return cls(
            periods, fill, centre, scale, asinh, coef, each("intercept"), each("low"),
            each("high"), each("y_centre"), each("y_scale"),
        )  # fmt: skip

    def predict(self, design: np.ndarray, periods: np.ndarray) -> np.ndarray:
        """Each row by the model of its period (or the nearest period's; the lower on a tie),
        ``_STACKED_ROWS`` rows at a time (the gathered parameters are as large as the rows)."""
        if len(design) <= _STACKED_ROWS:
            return self._predict(design, periods)
        return np.concatenate(
            [
                self._predict(design[i : i + _STACKED_ROWS], periods[i : i + _STACKED_ROWS])
                for i in range(0, len(design), _STACKED_ROWS)
            ]
        )

    def _predict(self, x: np.ndarray, periods: np.ndarray) -> np.ndarray:
        which = np.abs(self.periods[None, :] - periods[:, None]).argmin(axis=1)
        z = (np.where(np.isnan(x), self.fill[which], x) - self.centre[which]) / self.scale[which]
        z = np.clip(np.where(self.asinh[which], np.arcsinh(z), z), -_Z_LIMIT, _Z_LIMIT)
        zy = np.multiply(z, self.coef[which]).sum(axis=1) + self.intercept[which]
        zy = np.clip(zy, self.low[which], self.high[which])
        return np.sinh(zy) * self.y_scale[which] + self.y_centre[which]


@dataclass
class _Inputs:
    """One period's transformed inputs, and the sufficient statistics LARS needs. Periods
    trained on the same matrix (the day vectors are the same for every period of a day)
    share one: the transformation and the Gram matrices are computed once per window."""

    keep: np.ndarray
    fill: np.ndarray
    centre: np.ndarray
    scale: np.ndarray
    asinh: np.ndarray
    z_mean: np.ndarray  # the transformed inputs' column means (LARS centres them)
    z_centred: np.ndarray
    gram: np.ndarray  # of the centred transformed inputs
    norms: np.ndarray  # their L2 norms: LARS's normalised inputs, for the AIC choice
    normalised_gram: np.ndarray  # the Gram matrix of those normalised inputs
    pinv: np.ndarray | None  # its pseudo-inverse when there are more rows than inputs

    @classmethod
    def of(cls, design: np.ndarray, dummy: np.ndarray) -> _Inputs:
        observed = ~np.isnan(design).all(axis=0)
        fill = np.zeros(design.shape[1])
        fill[observed] = np.nanmedian(design[:, observed], axis=0)
        x = np.where(np.isnan(design), fill, design)
        std = x.std(axis=0)
        centre = np.where(dummy, 0.0, fill)
        scale = np.where(dummy, 1.0, _robust_scale(x, fill))
        keep = np.flatnonzero(observed & (std > _TINY) & (scale > _TINY))
        # A column equal to an earlier one (an aligned lag and its hour in a day vector) adds
        # nothing but a tie for LARS: keep the first.
        _, first = np.unique(x[:, keep], axis=1, return_index=True)
        keep = keep[np.sort(first)]
        centre, scale, fill, asinh = centre[keep], scale[keep], fill[keep], ~dummy[keep]
        z = (x[:, keep] - centre) / scale
        z = np.where(asinh, np.arcsinh(z), z)
        z_mean = z.mean(axis=0)
        zc = z - z_mean
        gram = zc.T @ zc
        norms = np.sqrt(np.diag(gram))
        norms = np.where(norms > _TINY, norms, 1.0)
        normalised = gram / np.outer(norms, norms)
        # The least-squares RSS of every period's target comes from one pseudo-inverse per
        # window (numpy's lstsq cut-off), not one least-squares solve per period.
        n, p = zc.shape
        pinv = None
        if n > p:
            pinv = np.linalg.pinv(normalised, rcond=np.finfo(np.float64).eps * n, hermitian=True)
        return cls(keep, fill, centre, scale, asinh, z_mean, zc, gram, norms, normalised, pinv)


def _aic_alpha(inputs: _Inputs, zy: np.ndarray, first_steps: int = _LARS_FIRST_STEPS) -> _Penalty:
    """The penalty of the epftoolbox's ``LassoLarsIC(criterion="aic")`` as it ran under
    scikit-learn < 1.1 (which made the published forecasts): the LASSO path by LARS on the
    inputs centred and divided by their L2 norms, and the point minimising
    ``n * MSE / var(y) + 2 * df``.

    The path is first computed for ``first_steps`` steps only: a later point can beat the
    best so far only with fewer than ``(best - RSS_min / var(y)) / 2`` active inputs
    (``RSS_min``: the least-squares RSS, 0 when there are fewer rows than inputs), so once the
    active set is ``_LARS_MARGIN`` beyond that the rest of the path is not needed; otherwise
    the path is computed again, twice as long, up to ``_LARS_MAX_ITER`` steps. The chosen
    point is typically 5-70 steps into a path of ~330, and the bound holds 25-145 steps in;
    ``steps`` (returned) is where it first held, a good first length for the next day's fit.
    """
    from sklearn.linear_model import lars_path_gram

    yc = zy - zy.mean()
    gram = inputs.normalised_gram
    xy = (inputs.z_centred.T @ yc) / inputs.norms
    variance = float(yc.var()) + np.finfo(np.float64).eps
    rss_min = 0.0
    if inputs.pinv is not None:  # more rows than inputs: the least-squares fit exists
        rss_min = max(float(yc @ yc - xy @ (inputs.pinv @ xy)), 0.0)
    steps = max(int(first_steps), 2)
    while True:
        alphas, _, coefs = lars_path_gram(
            xy,
            gram,
            n_samples=inputs.z_centred.shape[0],
            max_iter=steps,
            method="lasso",
            copy_Gram=True,
        )
        rss = yc @ yc - 2 * xy @ coefs + np.einsum("ik,ik->k", coefs, gram @ coefs)
        df = (np.abs(coefs) > np.finfo(np.float64).eps).sum(axis=0)
        criterion = np.maximum(rss, 0.0) / variance + 2 * df
        best = int(np.argmin(criterion))
        finished = coefs.shape[1] < steps + 1  # the path ended before the step limit
        bound = (np.minimum.accumulate(criterion) - rss_min / variance) / 2 + _LARS_MARGIN
        held = np.flatnonzero(df >= bound)
        if finished or held.size or steps >= _LARS_MAX_ITER:
            needed = int(held[0]) if held.size else coefs.shape[1] - 1
            return _Penalty(float(alphas[best]), needed)
        steps = min(2 * steps, _LARS_MAX_ITER)


@dataclass(frozen=True)
class _Penalty:
    alpha: float
    steps: int  # LARS steps after which the AIC choice was certain


def _lasso(inputs: _Inputs, zy: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """The toolbox's ``Lasso(alpha, max_iter=2500)`` on the transformed inputs, with an
    intercept: coordinate descent from zero, on the Gram matrix when there are more rows than
    inputs (the same iterates, cheaper). Like the toolbox, a fit that has not converged in
    2500 sweeps is kept (its ConvergenceWarning silenced): the published forecasts are those.
    (The exact solution by LARS stopped at ``alpha`` was measured slower, and 0.03 EUR/MWh
    away on average, up to 0.5: some of the toolbox's fits stop short of the optimum.)"""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import Lasso

    yc = zy - zy.mean()
    n, p = inputs.z_centred.shape
    lasso = Lasso(
        alpha=alpha,
        max_iter=_LARS_MAX_ITER,
        fit_intercept=False,
        precompute=inputs.gram if n > p else False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        lasso.fit(inputs.z_centred, yc)
    coef = np.asarray(lasso.coef_, dtype=np.float64)
    return coef, float(zy.mean() - inputs.z_mean @ coef)


class Lear:
    """LEAR as the EPF paper (Lago et al. 2021) and its reference code, the epftoolbox, define it.

    One LASSO per period of the day. Inputs: the day vectors of the feature view (the hourly
    profile of D-1, D-2, D-3 and D-7 prices and of D, D-1 and D-7 driver forecasts: names
    ending in ``_hHH``) and seven day-of-week dummies from ``dow``; a frame with no day vector
    uses every feature column but ``period``, ``hour``, ``is_weekend`` and ``dow`` (the
    dummies). Every input but the dummies, and the target, is centred on its training median,
    divided by its normal-consistent MAD and passed through ``asinh`` (the toolbox's
    "Invariant" scaling); columns constant in training are dropped. A missing value takes the
    training median, with no indicator column.

    The penalty (``alpha=None``) is the toolbox's: ``LassoLarsIC(criterion="aic")`` as it ran
    under scikit-learn < 1.1 (inputs L2-normalised inside LARS, noise variance = the target's
    variance), then ``Lasso(alpha)`` at that penalty on the transformed inputs (coordinate
    descent from zero, at most 2500 sweeps, as the toolbox: on the long windows it mostly
    stops there unconverged, so a warm start would leave the published forecasts); a given
    ``alpha`` skips the choice. The 24 periods of a day share one
    input matrix, so the transformation and Gram matrix are computed once per window. A refit
    instance starts each period's LARS path as long as its last fit needed
    (``lars_steps_``): the same penalties to the bit, at about half the LARS cost when
    recalibrated daily. Predictions go back through ``sinh`` and the target's median and
    MAD. A period with under 10 training rows uses the nearest period's model. Intervals:
    training residual quantiles per period, as :class:`SeasonalNaive`'s. BLAS runs on one
    thread while fitting.

    ``windows`` makes it the paper's *LEAR ensemble*: one LEAR per calibration window (56, 84,
    1092 and 1456 days by default), the point forecast their mean. As in the toolbox, a window
    of W days ends with the day before the first forecast day and its first 7 days only feed
    the lags: a member trains on the last W - 7 days. A window that reaches no further than a
    shorter one adds no member; ``windows=None`` fits a single LEAR on every training row.

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
        penalty_days: int = 1,
    ):
        if alpha is not None and not alpha > 0:
            raise ValueError(f"alpha must be positive, or None to choose it by AIC: {alpha!r}")
        if windows is not None and (not windows or min(int(w) for w in windows) <= _LAG_DAYS):
            raise ValueError(
                f"windows must be whole numbers of days > {_LAG_DAYS}, or None: {windows!r}"
            )
        if int(penalty_days) < 1:
            raise ValueError(f"penalty_days must be a whole number >= 1: {penalty_days!r}")
        self.alpha = alpha
        self.penalty_days = int(penalty_days)
        self.penalties_: dict[tuple[int, int], float] | None = None
        self.penalty_day_: pd.Timestamp | None = None
        self.windows = None if windows is None else tuple(sorted({int(w) for w in windows}))
        self.features = None if features is None else list(features)
        self.feature_columns_: list[str] | None = None
        self.members_: list[dict[int, _PeriodFit]] | None = None
        # window -> period -> the LARS steps the last AIC choice needed: a refit's first guess
        self.lars_steps_: dict[int, dict[int, int]] = {}
        self.bands_: _Bands | None = None

    def _inputs(self, frame: pd.DataFrame) -> list[str]:
        if self.features is not None:
            return _feature_columns(frame, self.features)
        columns = _feature_columns(frame, None)
        vectors = [c for c in columns if _DAY_VECTOR.match(c)]
        if vectors:
            return [*vectors, *(["dow"] if "dow" in columns else [])]
        return [c for c in columns if c not in _NOT_INPUTS]

    def _design(self, frame: pd.DataFrame | _Columns) -> tuple[np.ndarray, np.ndarray]:
        """The raw design matrix (inputs, then the dow dummies) and which columns are dummies."""
        read = frame if isinstance(frame, _Columns) else _Columns(frame)
        features: list[str] = _fitted(self.feature_columns_, self)
        use_dow = "dow" in features
        columns = [c for c in features if not (use_dow and c in ("dow", "is_weekend"))]
        design = read.matrix(columns)
        dummy = [False] * len(columns)
        if use_dow:
            dow = read.column("dow")
            design = np.hstack([design, (dow[:, None] == np.arange(7)).astype(np.float64)])
            dummy += [True] * 7
        return design, np.asarray(dummy, dtype=bool)

    def _fit_period(
        self, inputs: _Inputs, y: np.ndarray, alpha: float | None, steps: int
    ) -> tuple[_PeriodFit, int]:
        y_centre = float(np.median(y))
        y_scale = float(_robust_scale(y[:, None], np.array([y_centre]))[0])
        y_scale = y_scale if y_scale > _TINY else 1.0
        zy = np.arcsinh((y - y_centre) / y_scale)
        coef, intercept, chosen = np.zeros(inputs.keep.size), float(zy.mean()), np.nan
        if inputs.keep.size and zy.var() > _TINY:
            chosen = self.alpha or alpha or np.nan
            if np.isnan(chosen):
                penalty = _aic_alpha(inputs, zy, steps)
                chosen, steps = penalty.alpha, penalty.steps + _LARS_MARGIN
            coef, intercept = _lasso(inputs, zy, chosen)
        fit = _PeriodFit(
            inputs.keep,
            inputs.fill,
            inputs.centre,
            inputs.scale,
            inputs.asinh,
            coef,
            intercept,
            y_centre,
            y_scale,
            float(zy.min()) - 1.0,
            float(zy.max()) + 1.0,
            float(chosen),
        )
        return fit, steps

    def _fit_member(
        self,
        design: np.ndarray,
        dummy: np.ndarray,
        y: np.ndarray,
        periods: np.ndarray,
        penalties: dict[int, float],
        steps: dict[int, int],
    ) -> dict[int, _PeriodFit]:
        """One window's fits; ``steps`` (period -> LARS steps, the last fit's) is updated."""
        fits: dict[int, _PeriodFit] = {}
        shared: tuple[np.ndarray, _Inputs] | None = None
        for p in np.unique(periods):
            use = periods == p
            if np.count_nonzero(use) < _MIN_PERIOD_ROWS:
                continue
            x = design[use]
            if shared is None or not (
                shared[0].shape == x.shape and np.array_equal(shared[0], x, equal_nan=True)
            ):
                shared = (x, _Inputs.of(x, dummy))
            first = steps.get(int(p), _LARS_FIRST_STEPS)
            fits[int(p)], steps[int(p)] = self._fit_period(
                shared[1], y[use], penalties.get(int(p)), first
            )
        return fits

    def _predict_mid(self, frame: pd.DataFrame | _Columns) -> np.ndarray:
        """The point forecast: each member's period model on each row (a period without a
        model: the nearest one's), averaged over the members. All rows of a member at once,
        each period's model stated on the whole design matrix (see ``_Stacked``)."""
        members: list[dict[int, _PeriodFit]] = _fitted(self.members_, self)
        read = frame if isinstance(frame, _Columns) else _Columns(frame)
        design, _ = self._design(read)
        design = np.ascontiguousarray(design)  # the same bits whatever the frame's layout
        periods = read.periods()
        mid = np.zeros(len(design))
        for stacked in self._stacked(members, design.shape[1]):
            mid += stacked.predict(design, periods)
        return mid / len(members)

    def _stacked(self, members: list[dict[int, _PeriodFit]], width: int) -> list[_Stacked]:
        """Each member's period models stacked (made once per fit, not pickled)."""
        found = self.__dict__.get("_stacked_")
        if found is None or found[0] is not members or found[1] != width:
            found = (members, width, [_Stacked.of(models, width) for models in members])
            self.__dict__["_stacked_"] = found
        return found[2]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_stacked_", None)
        return state

    def _window_rows(self, train: pd.DataFrame) -> list[tuple[int, np.ndarray]]:
        """(window, boolean row mask) for each calibration window that holds rows no shorter
        one has; window 0 is every row."""
        everything = np.ones(len(train), dtype=bool)
        if self.windows is None:
            return [(0, everything)]
        if "timestamp" not in train.columns:
            raise ValueError("LEAR with calibration windows needs a 'timestamp' column")
        stamps = pd.to_datetime(train["timestamp"])
        last, masks, seen = stamps.max().normalize(), [], -1
        for days in self.windows:
            first = last - pd.Timedelta(days=days - _LAG_DAYS - 1)
            rows = (stamps >= first).to_numpy()
            if rows.sum() > seen:
                masks.append((days, rows))
                seen = int(rows.sum())
        return masks

    def _reused_penalties(self, train: pd.DataFrame) -> tuple[pd.Timestamp | None, bool]:
        """The last training day, and whether the penalties chosen before still hold."""
        if "timestamp" not in train.columns:
            return None, False
        last = pd.to_datetime(train["timestamp"]).max().normalize()
        chosen = self.penalty_day_
        fresh = chosen is not None and 0 <= (last - chosen).days < self.penalty_days
        return last, bool(fresh and self.alpha is None and self.penalties_)

    def fit(self, frame: pd.DataFrame) -> Self:
        """One LASSO per period and window on the rows with a known target, then the bands.

        Refitting a fitted model with ``penalty_days`` > 1 keeps the penalties it chose, per
        window and period, until the training rows end ``penalty_days`` days after the day
        they were chosen on; the coefficients are always refit.
        """
        from threadpoolctl import threadpool_limits

        train, y = _training_rows(frame)
        features = self._inputs(train)
        last, reuse = self._reused_penalties(train)
        reuse = reuse and features == self.feature_columns_
        penalties = dict(self.penalties_ or {}) if reuse else {}
        self.feature_columns_ = features
        read = _Columns(train)
        design, dummy = self._design(read)
        periods = read.periods()
        members = []
        with threadpool_limits(limits=1, user_api="blas"):
            for window, rows in self._window_rows(train):
                given = {p: a for (w, p), a in penalties.items() if w == window}
                steps = self.lars_steps_.setdefault(window, {})
                fits = self._fit_member(design[rows], dummy, y[rows], periods[rows], given, steps)
                if fits:
                    members.append(fits)
                    if not reuse:
                        penalties.update({(window, p): f.alpha for p, f in fits.items()})
            if not members:
                raise ValueError(f"LEAR needs {_MIN_PERIOD_ROWS} rows in at least one period")
            self.members_ = members
            if not reuse:
                self.penalties_, self.penalty_day_ = penalties, last
            # The bands from the last _BAND_DAYS days of training rows (all of them without
            # timestamps): recent errors, at a quarter of the cost of predicting four years.
            recent = np.ones(len(train), dtype=bool)
            if last is not None:
                stamps = pd.to_datetime(train["timestamp"])
                recent = (stamps >= last - pd.Timedelta(days=_BAND_DAYS - 1)).to_numpy()
            residuals = y[recent] - self._predict_mid(train.loc[recent])
            self.bands_ = _Bands.fit(periods[recent], residuals)
        return self

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``p10``, ``p50``, ``p90`` on ``frame.index``; missing features take training medians."""
        bands: _Bands = _fitted(self.bands_, self)
        read = _Columns(frame)
        mid = self._predict_mid(read)
        lower, upper = bands.offsets(read.periods())
        return _result(frame.index, mid + lower, mid, mid + upper)

    def params(self) -> dict[str, Any]:
        """Flat hyperparameters for experiment tracking (``alpha="aic"``: chosen per period)."""
        alpha = "aic" if self.alpha is None else float(self.alpha)
        features = "auto" if self.features is None else ",".join(self.features)
        windows = "all" if self.windows is None else ",".join(map(str, self.windows))
        return {
            "model": self.name,
            "alpha": alpha,
            "windows": windows,
            "features": features,
            "penalty_days": self.penalty_days,
        }
