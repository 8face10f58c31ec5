"""The data report's plots: matplotlib figures rendered to inline PNG.

Imported by ``_data_report`` when a report has numeric columns (matplotlib loads only then).

>>> html = _plots("price", latest_values, history_values, latest, history, groups, "")
"""

from __future__ import annotations

import base64
import io
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._data_report import _e, _label, _log

if TYPE_CHECKING:
    from ._data_report import _Side

__all__: list[str] = []

_FIGSIZE, _DPI = (7.0, 2.5), 90
_GREY, _LATEST = "#8c8c8c", "#1f5fbf"
_GROUP_COLOURS = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
)


def _plots(
    name: str,
    lv: np.ndarray,
    hv: np.ndarray,
    lat: _Side,
    hist: _Side,
    groups: list[str] | None,
    note: str,
) -> str:
    parts: list[tuple[str, str, Callable[[], str]]] = [
        (
            "time series",
            f"history faded, latest partition bold on a shaded band{note}",
            lambda: _plot_series(f"{name}: time series", lv, hv, lat, hist, groups),
        ),
        (
            "distribution",
            "density of the latest partition (line) over history (grey).",
            lambda: _plot_hist(f"{name}: density", lv, hv),
        ),
        (
            "daily quantiles",
            "history per day: p10–p90 band and median; latest per day: median with a p10–p90 bar.",
            lambda: _plot_band(f"{name}: daily quantiles", lv, hv, lat, hist),
        ),
    ]
    out = []
    width, height = int(_FIGSIZE[0] * _DPI), int(_FIGSIZE[1] * _DPI)
    for kind, caption, draw in parts:
        try:
            with warnings.catch_warnings():  # a missing glyph must not break or warn a report
                warnings.simplefilter("ignore", UserWarning)
                png = draw()
        except Exception as exc:  # a plot is not worth losing the report over
            _log.warning("data report: %s plot of %r failed", kind, name, exc_info=True)
            out.append(
                f"<p class='meta'>{_e(kind)} plot could not be drawn: "
                f"{_e(type(exc).__name__)}: {_e(exc)}</p>"
            )
            continue
        out.append(
            f'<figure><img src="data:image/png;base64,{png}" width="{width}" '
            f'height="{height}" alt="{_e(kind)} of {_e(name)}"><figcaption>{_e(kind)}: '
            f"{_e(caption)}</figcaption></figure>"
        )
    return "".join(out)


def _new_axes(title: str) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=_FIGSIZE, dpi=_DPI)  # fixed margins: constrained layout doubles the cost
    fig.subplots_adjust(left=0.085, right=0.82, top=0.9, bottom=0.14)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_title(_label(title), fontsize=8, loc="left", parse_math=False)
    ax.tick_params(labelsize=7)
    ax.xaxis.set_major_formatter(_short_number)  # plain "35k", never an offset over the title
    ax.yaxis.set_major_formatter(_short_number)
    ax.grid(True, color="#e6e6e6", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def _short_number(value: float, _pos: float | None = None) -> str:
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def _finish(fig: Any, ax: Any, dates: bool = True) -> str:
    """Legend, date ticks (or a "no values" note), and the figure as base64 PNG."""
    if ax.lines or ax.collections or ax.patches:
        if dates:
            import matplotlib.dates as mdates

            locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    else:
        ax.text(
            0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes, color=_GREY
        )
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _legend(text: str) -> str:
    """A user value as a legend entry: short, ``$`` escaped so that it never starts mathtext."""
    return (text if len(text) <= 20 else text[:19] + "…").replace("$", r"\$")


def _series_frame(values: np.ndarray, side: _Side) -> pd.DataFrame:
    frame = pd.DataFrame({"t": side.times.to_numpy(), "v": values})
    if side.groups is not None:
        frame["g"] = side.groups.to_numpy()
    return frame.dropna(subset=["t"])


def _plot_series(
    title: str, lv: np.ndarray, hv: np.ndarray, lat: _Side, hist: _Side, groups: list[str] | None
) -> str:
    fig, ax = _new_axes(title)
    lf, hf = _series_frame(lv, lat), _series_frame(hv, hist)
    if groups is None:
        for frame, colour, width, label in (
            (hf, _GREY, 0.8, "history"),
            (lf, _LATEST, 1.4, "latest"),
        ):
            s = frame.groupby("t")["v"].mean()
            if len(s):
                ax.plot(
                    s.index.to_numpy(), s.to_numpy(), color=colour, linewidth=width, label=label
                )
    else:
        means = [f.groupby(["g", "t"])["v"].mean() for f in (hf, lf)]
        for i, group in enumerate(groups):
            colour = _GROUP_COLOURS[i % len(_GROUP_COLOURS)]
            for s, width, alpha, legend in (
                (means[0], 0.7, 0.35, None),
                (means[1], 1.4, 1.0, _legend(group)),
            ):
                if len(s) and group in s.index.get_level_values(0):
                    part = s.xs(group, level=0)
                    ax.plot(
                        part.index.to_numpy(),
                        part.to_numpy(),
                        color=colour,
                        linewidth=width,
                        alpha=alpha,
                        label=legend,
                    )
    if len(lf) and ax.lines:
        ax.axvspan(lf["t"].min(), lf["t"].max(), color=_LATEST, alpha=0.07, linewidth=0)
    return _finish(fig, ax)


def _plot_hist(title: str, lv: np.ndarray, hv: np.ndarray) -> str:
    lf, hf = lv[~np.isnan(lv)], hv[~np.isnan(hv)]
    fig, ax = _new_axes(f"{title}; latest n={len(lf):,}, history n={len(hf):,}")
    ax.yaxis.set_major_formatter("")  # the density's scale says nothing; its shape does
    both = np.concatenate([lf, hf])
    if len(both):
        lo, hi = float(both.min()), float(both.max())
        bins = np.linspace(lo - 0.5, hi + 0.5, 41) if lo == hi else np.linspace(lo, hi, 41)
        if len(hf):
            ax.hist(
                hf,
                bins=bins,
                density=True,
                histtype="stepfilled",
                color=_GREY,
                alpha=0.45,
                label="history",
            )
        if len(lf):
            ax.hist(
                lf,
                bins=bins,
                density=True,
                histtype="step",
                color=_LATEST,
                linewidth=1.5,
                label="latest",
            )
    return _finish(fig, ax, dates=False)


def _daily_quantiles(values: np.ndarray, side: _Side) -> pd.DataFrame:
    s = pd.Series(values, index=side.days.to_numpy()).dropna()
    s = s[s.index.notna()]
    if not len(s):
        return pd.DataFrame(columns=[0.1, 0.5, 0.9])
    return s.groupby(level=0).quantile([0.1, 0.5, 0.9]).unstack()


def _plot_band(title: str, lv: np.ndarray, hv: np.ndarray, lat: _Side, hist: _Side) -> str:
    fig, ax = _new_axes(title)
    hq, lq = _daily_quantiles(hv, hist), _daily_quantiles(lv, lat)
    if len(hq):
        x = hq.index.to_numpy()
        ax.fill_between(
            x,
            hq[0.1].to_numpy(),
            hq[0.9].to_numpy(),
            color=_GREY,
            alpha=0.3,
            linewidth=0,
            label="history p10–p90",
        )
        ax.plot(
            x,
            hq[0.5].to_numpy(),
            color=_GREY,
            linewidth=1.0,
            marker="o",
            markersize=2,
            label="history median",
        )
    if len(lq):
        med = lq[0.5].to_numpy()
        err = np.vstack([med - lq[0.1].to_numpy(), lq[0.9].to_numpy() - med])
        ax.errorbar(
            lq.index.to_numpy(),
            med,
            yerr=err,
            fmt="o",
            color=_LATEST,
            markersize=4,
            capsize=3,
            linewidth=1.2,
            label="latest",
        )
    days = [*hq.index, *lq.index]
    if days:  # half a day either side, so that a single day is not centred in years of axis
        ax.set_xlim(min(days) - pd.Timedelta(hours=12), max(days) + pd.Timedelta(hours=12))
    return _finish(fig, ax)
