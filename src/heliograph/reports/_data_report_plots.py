"""The data report's plots: matplotlib figures rendered to inline PNG.

Imported by ``_data_report`` when a report has numeric columns (matplotlib loads only then).

Example::

    html = _plots("price", [("GB", latest_values, history_values, latest, history)], "")

Each figure has one panel per group (``label``; one unlabelled panel when the data has no
groups), each on its own scale, titled with the group's full name.
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
_COLUMNS = 3  # panels per row when there are groups
Panel = tuple[str, np.ndarray, np.ndarray, "_Side", "_Side"]


def _plots(name: str, panels: list[Panel], note: str) -> str:
    parts: list[tuple[str, str, Callable[[Any, Panel], None], bool]] = [
        (
            "time series",
            f"history grey, latest partition blue on a shaded band{note}",
            _draw_series,
            True,
        ),
        (
            "distribution",
            "density of the latest partition (line) over history (grey); n: rows latest / history.",
            _draw_hist,
            False,
        ),
        (
            "daily quantiles",
            "history per day: p10–p90 band and median; latest per day: median with a p10–p90 bar.",
            _draw_band,
            True,
        ),
    ]
    out = []
    for kind, caption, draw, dates in parts:
        try:
            with warnings.catch_warnings():  # a missing glyph must not break or warn a report
                warnings.simplefilter("ignore", UserWarning)
                png, (width, height) = _figure(f"{name}: {kind}", panels, draw, dates)
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


def _figure(
    title: str, panels: list[Panel], draw: Callable[[Any, Panel], None], dates: bool
) -> tuple[str, tuple[int, int]]:
    """One figure with a panel per group; the PNG as base64 and its size in pixels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n = len(panels)
    cols = 1 if n == 1 else min(_COLUMNS, n)
    rows = -(-n // cols)
    size = _FIGSIZE if n == 1 else (9.0, 0.5 + 1.75 * rows)
    fig = Figure(figsize=size, dpi=_DPI)  # fixed margins: constrained layout doubles the cost
    FigureCanvasAgg(fig)
    if n == 1:
        fig.subplots_adjust(left=0.085, right=0.82, top=0.88, bottom=0.2)
    else:
        top = 1 - 0.45 / size[1]
        fig.subplots_adjust(
            left=0.06, right=0.83, top=top, bottom=0.35 / size[1], hspace=0.55, wspace=0.22
        )
    fig.suptitle(_label(title), fontsize=8, x=0.01, ha="left", parse_math=False)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, panel in zip(axes, panels, strict=False):
        _style(ax, panel[0])
        draw(ax, panel)
        _finish_axes(ax, dates, compact=n > 1)
    for ax in axes[n:]:
        ax.set_visible(False)
    handles, labels = {}, []
    for ax in axes[:n]:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            if label not in handles:
                handles[label] = handle
                labels.append(label)
    if handles:
        fig.legend(
            [handles[k] for k in labels],
            [_legend(k) for k in labels],
            fontsize=7,
            loc="upper left",
            bbox_to_anchor=(0.84 if n > 1 else 0.82, 1 - 0.45 / size[1] if n > 1 else 0.9),
            frameon=False,
        )
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI)
    pixels = (int(size[0] * _DPI), int(size[1] * _DPI))
    return base64.b64encode(buf.getvalue()).decode("ascii"), pixels


def _style(ax: Any, label: str) -> None:
    if label:
        ax.set_title(_label(label), fontsize=7.5, loc="left", parse_math=False)
    ax.tick_params(labelsize=6.5)
    ax.xaxis.set_major_formatter(_short_number)  # plain "35k", never an offset over the title
    ax.yaxis.set_major_formatter(_short_number)
    ax.grid(True, color="#e6e6e6", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)


def _short_number(value: float, _pos: float | None = None) -> str:
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def _finish_axes(ax: Any, dates: bool, compact: bool) -> None:
    """Date ticks that never overlap, or a "no values" note on an empty panel."""
    if ax.lines or ax.collections or ax.patches:
        if dates:
            import matplotlib.dates as mdates

            locator = mdates.AutoDateLocator(minticks=3, maxticks=4 if compact else 8)
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(
                mdates.ConciseDateFormatter(locator, show_offset=not compact)
            )
    else:
        ax.text(
            0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes, color=_GREY
        )


def _legend(text: str) -> str:
    """A legend entry with ``$`` escaped, so that it never starts mathtext."""
    return text.replace("$", r"\$")


def _series_frame(values: np.ndarray, side: _Side) -> pd.DataFrame:
    return pd.DataFrame({"t": side.times.to_numpy(), "v": values}).dropna(subset=["t"])


def _draw_series(ax: Any, panel: Panel) -> None:
    _, lv, hv, lat, hist = panel
    lf, hf = _series_frame(lv, lat), _series_frame(hv, hist)
    for frame, colour, width, label in ((hf, _GREY, 0.8, "history"), (lf, _LATEST, 1.2, "latest")):
        s = frame.groupby("t")["v"].mean()
        if len(s):
            ax.plot(s.index.to_numpy(), s.to_numpy(), color=colour, linewidth=width, label=label)
    if len(lf) and ax.lines:
        ax.axvspan(lf["t"].min(), lf["t"].max(), color=_LATEST, alpha=0.07, linewidth=0)


def _draw_hist(ax: Any, panel: Panel) -> None:
    _, lv, hv, _, _ = panel
    lf, hf = lv[~np.isnan(lv)], hv[~np.isnan(hv)]
    ax.yaxis.set_major_formatter("")  # the density's scale says nothing; its shape does
    # rows of latest / history, at the right of the panel's title (the caption says so)
    ax.set_title(f"n {len(lf):,} / {len(hf):,}", fontsize=6.5, loc="right", color=_GREY)
    both = np.concatenate([lf, hf])
    if not len(both):
        return
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


def _daily_quantiles(values: np.ndarray, side: _Side) -> pd.DataFrame:
    s = pd.Series(values, index=side.days.to_numpy()).dropna()
    s = s[s.index.notna()]
    if not len(s):
        return pd.DataFrame(columns=[0.1, 0.5, 0.9])
    return s.groupby(level=0).quantile([0.1, 0.5, 0.9]).unstack()


def _draw_band(ax: Any, panel: Panel) -> None:
    _, lv, hv, lat, hist = panel
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
            markersize=3,
            capsize=2,
            linewidth=1.0,
            label="latest",
        )
    days = [*hq.index, *lq.index]
    if days:  # half a day either side, so that a single day is not centred in years of axis
        ax.set_xlim(min(days) - pd.Timedelta(hours=12), max(days) + pd.Timedelta(hours=12))
