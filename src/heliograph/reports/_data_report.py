"""The data report: the automated "eyeball check" of a new partition against recent history.

One self-contained HTML document (inline CSS, plots as inline PNG, no JavaScript) that puts the
latest partition of a lake dataset next to the partitions before it, says in words what looks
unusual, and shows the results of the dataset's checks.

Example::

    html = build_data_report("prices", latest, history, time_column="ts",
                             latest_label="date=2025-06-01", group_column="market")
    write_data_report("reports/prices/2025-06-01.html", dataset="prices", latest=latest,
                      history=history, time_column="ts", latest_label="date=2025-06-01")
"""

from __future__ import annotations

import html
import logging
import os
from collections import namedtuple
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_datetime64_any_dtype, is_numeric_dtype

from heliograph.core import DataError, atomic_write
from heliograph.metrics import jensen_shannon, ks_statistic, psi

__all__ = ["build_data_report", "write_data_report"]

_log = logging.getLogger(__name__)

NULL_POINTS = 5.0  # flag when the latest null % exceeds history's by more than this
MEAN_WIDEN = 0.10  # widen the range of history's daily means by this share of the range
EXTREME_WIDEN = 0.10  # widen history's min-max range by this share before flagging a record
ROWS_TOLERANCE = 0.10  # flag a one-day partition whose rows differ this much from history's day
MAX_GROUPS = 12  # series (groups) summarised and plotted one by one; more are said to be cut
TOP_N = 5
_HIGH_CARDINALITY = 50  # with more distinct history values (and > half the rows) new is normal
_STATS = ("rows", "null %", "mean", "std", "min", "p1", "p50", "p99", "max", "KS", "PSI")
_CSS = """body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#222;
margin:1.5em auto;max-width:1100px;padding:0 1em}h1{font-size:1.4em;margin-bottom:.2em}
h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
h3{font-size:1em;margin:1.2em 0 .3em}
.meta{color:#555;font-size:.9em}.headline{padding:.6em 1em;border-radius:4px;font-weight:600;
margin:1em 0}.bad,td.fail{background:#fde2e1;color:#8a1c14}.good,td.pass{background:#e3f4e1;
color:#1e5e1a}td.pass,td.fail{font-weight:600}table{border-collapse:collapse;font-size:.85em}
td,th{border:1px solid #ddd;padding:.25em .5em;text-align:right;vertical-align:top}
th{background:#f6f6f6}.l{text-align:left}tr.latest td{background:#f3f7fd}
td.flag,td.ok{text-align:left}td.flag,ul.flags{color:#8a1c14}td.ok{color:#1e5e1a}
figure{margin:.3em 0}figcaption{font-size:.8em;color:#555}img{max-width:100%;height:auto}"""


def build_data_report(
    dataset: str,
    latest: pd.DataFrame,
    history: pd.DataFrame,
    *,
    time_column: str,
    latest_label: str,
    group_column: str | None = None,
    check_results: list[dict[str, Any]] | None = None,
    generated_at: datetime | None = None,
) -> str:
    """The data report of ``latest`` against ``history`` as one self-contained HTML document.

    Example::

        html = build_data_report("prices", latest, history, time_column="ts",
                                 latest_label="date=2025-06-01", check_results=results)
    """
    for side, frame in (("latest", latest), ("history", history)):
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"{side} must be a pandas DataFrame, got {type(frame).__name__}")
        for col, role in ((time_column, "time_column"), (group_column, "group_column")):
            if col is not None and len(frame) and col not in frame.columns:
                raise DataError(
                    f"{role} {col!r} is not a column of {side}",
                    field=str(col),
                    rule=f"{role} must name a column of latest and history",
                )
    lat, hist = _Side(latest, time_column, group_column), _Side(history, time_column, group_column)
    parts = [s.groups for s in (lat, hist) if s.groups is not None and len(s.groups)]
    group_rows = None
    if parts:  # largest group first, then by name
        counts = pd.concat(parts).value_counts()
        group_rows = counts.iloc[
            sorted(range(len(counts)), key=lambda i: (-counts.iloc[i], str(counts.index[i])))
        ]
    headline: list[str] = []
    sections: list[str] = []
    if not lat.rows:
        headline.append(f"no data: the latest partition {latest_label} has no rows")
    else:
        if not hist.rows:
            headline.append("no history to compare against")
        numeric, other, changed = _classify(latest, history, time_column, group_column)
        num_html, num_flagged = _numeric_section(numeric, lat, hist, group_rows)
        cat_html, cat_flagged = _other_section(other, lat, hist, changed)
        flagged = num_flagged + cat_flagged
        if flagged:
            headline.append(f"{_n(len(flagged), 'column')} flagged ({', '.join(flagged)})")
        headline += _rows_flag(lat, hist)
        sections += [num_html, cat_html]
    headline += _checks_headline(check_results or [])
    stamp = (generated_at or datetime.now(UTC)).isoformat(sep=" ", timespec="seconds")
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(f'Data report: {dataset} {latest_label}')}</title>",
            f"<style>{_CSS}</style></head><body><h1>Data report: {_e(dataset)}</h1>",
            f'<div class="meta">latest partition <b>{_e(latest_label)}</b> · generated {_e(stamp)}',
            f'</div><div class="headline {"bad" if headline else "good"}">',
            f"{_e('; '.join(headline) or 'nothing unusual')}</div>",
            _overview(lat, hist, latest_label, group_column, group_rows),
            _checks_section(check_results) if check_results else "",
            *sections,
            _RULES,
            "</body></html>\n",
        ]
    )


def write_data_report(
    path: str | os.PathLike[str],
    dataset: str,
    latest: pd.DataFrame,
    history: pd.DataFrame,
    *,
    time_column: str,
    latest_label: str,
    group_column: str | None = None,
    check_results: list[dict[str, Any]] | None = None,
    generated_at: datetime | None = None,
) -> Path:
    """Write the data report to ``path`` atomically: a crash never leaves half a report.

    Example::

        write_data_report("reports/prices.html", dataset="prices", latest=latest,
                          history=history, time_column="ts", latest_label="date=2025-06-01")
    """
    text = build_data_report(
        dataset,
        latest,
        history,
        time_column=time_column,
        latest_label=latest_label,
        group_column=group_column,
        check_results=check_results,
        generated_at=generated_at,
    )
    return atomic_write(path, text)


# --- data preparation -------------------------------------------------------------------------


class _Side:
    """One side of the comparison (latest or history): times, days and groups, computed once."""

    def __init__(self, frame: pd.DataFrame, time_column: str, group_column: str | None) -> None:
        self.frame, self.rows = frame, len(frame)
        self.times = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
        if self.rows and time_column in frame.columns:
            self.times = _naive_times(frame[time_column])
        self.days = self.times.dt.normalize()
        self.groups: pd.Series | None = None
        if group_column is not None and group_column in frame.columns:
            self.groups = frame[group_column].astype(object).map(_label)

    def subset(self, group: str) -> _Side:
        """The rows of one group, as a side of their own."""
        side = object.__new__(_Side)
        mask = (self.groups == group).to_numpy() if self.groups is not None else None
        side.frame = self.frame[mask] if mask is not None else self.frame
        side.rows = len(side.frame)
        side.times = self.times[mask] if mask is not None else self.times
        side.days = self.days[mask] if mask is not None else self.days
        side.groups = self.groups[mask] if self.groups is not None else None
        return side

    def values(self, column: Any) -> np.ndarray:
        """The column as float64, nulls and non-finite values as NaN (all NaN if absent)."""
        if column not in self.frame.columns:
            return np.full(self.rows, np.nan)
        out = self.frame[column].to_numpy(dtype="float64", na_value=np.nan)
        return np.where(np.isfinite(out), out, np.nan)


def _naive_times(series: pd.Series) -> pd.Series:
    if not is_datetime64_any_dtype(series):
        try:
            series = pd.to_datetime(series, format="ISO8601")
        except (ValueError, TypeError):
            series = pd.to_datetime(series, format="mixed", errors="coerce")
    if series.dt.tz is not None:
        series = series.dt.tz_localize(None)  # wall time, so that days match date partitions
    return series


def _label(value: Any) -> str:
    try:
        missing = bool(pd.isna(value))
    except (TypeError, ValueError):
        missing = False
    text = "(null)" if missing else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _classify(
    latest: pd.DataFrame, history: pd.DataFrame, time_column: str, group_column: str | None
) -> tuple[list[Any], list[Any], dict[Any, str]]:
    """Numeric and other columns (latest's order first), and the columns whose kind changed."""
    numeric: list[Any] = []
    other: list[Any] = []
    changed: dict[Any, str] = {}
    for name in dict.fromkeys([*latest.columns, *history.columns]):
        if name in (time_column, group_column):
            continue
        kinds = {
            is_numeric_dtype(f[name]) and not is_bool_dtype(f[name])
            for f in (latest, history)
            if name in f.columns and len(f)
        }
        if len(kinds) > 1:
            changed[name] = (
                f"type changed: {history[name].dtype} in history, {latest[name].dtype} in latest"
            )
        (numeric if kinds == {True} else other).append(name)
    return numeric, other, changed


_Stats = namedtuple("_Stats", "rows null_pct mean std min p1 p50 p99 max")


def _cells(st: _Stats) -> str:
    null = "–" if np.isnan(st.null_pct) else f"{st.null_pct:.1f}%"
    return "".join(f"<td>{c}</td>" for c in [f"{st.rows:,}", null, *map(_fmt, st[2:])])


def _stats(values: np.ndarray) -> _Stats:
    finite, rows = values[~np.isnan(values)], len(values)
    null_pct = 100.0 * (rows - len(finite)) / rows if rows else float("nan")
    if not len(finite):
        return _Stats(rows, null_pct, *[float("nan")] * 7)
    p1, p50, p99 = (float(q) for q in np.percentile(finite, [1, 50, 99]))
    std = float(finite.std(ddof=1)) if len(finite) > 1 else float("nan")
    return _Stats(
        rows,
        null_pct,
        float(finite.mean()),
        std,
        float(finite.min()),
        p1,
        p50,
        p99,
        float(finite.max()),
    )


def _fmt(value: float) -> str:
    if np.isnan(value):
        return "–"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}" if abs(value) >= 1 or value == 0 else f"{value:.3g}"


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _null_flag(lat_pct: float, hist_pct: float) -> list[str]:
    if np.isnan(lat_pct) or np.isnan(hist_pct) or lat_pct - hist_pct <= NULL_POINTS:
        return []
    return [f"null {lat_pct:.1f}% vs history's {hist_pct:.1f}% (+{lat_pct - hist_pct:.1f} points)"]


def _presence_flag(name: Any, lat: _Side, hist: _Side) -> list[str]:
    if name not in hist.frame.columns:
        return ["new column: not in history"]
    return [] if name in lat.frame.columns else ["column missing from the latest partition"]


def _flag_cell(flags: list[str], attrs: str = "") -> str:
    if not flags:
        return f"<td class='ok'{attrs}>ok</td>"
    return f"<td class='flag'{attrs}>" + "<br>".join(map(_e, flags)) + "</td>"


# --- numeric columns --------------------------------------------------------------------------


def _subsides(lat: _Side, hist: _Side, groups: list[str] | None) -> list[tuple[str, _Side, _Side]]:
    """(label, latest, history) per group, or one pooled pair when there are no groups."""
    if groups is None:
        return [("", lat, hist)]
    return [(g, lat.subset(g), hist.subset(g)) for g in groups]


def _numeric_section(
    columns: list[Any], lat: _Side, hist: _Side, group_rows: pd.Series | None
) -> tuple[str, list[str]]:
    if not columns:
        return "<h2>Numeric columns</h2><p>No numeric columns.</p>", []
    grouped = group_rows is not None
    table = [
        '<h2>Numeric columns</h2><table><tr><th class="l">column</th>',
        '<th class="l">group</th>' if grouped else "",
        "<th></th>",
        *(f"<th>{s}</th>" for s in _STATS),
        '<th class="l">flag</th></tr>',
    ]
    plots, flagged = ["<h2>Plots</h2>"], []
    groups = None if group_rows is None else [str(g) for g in group_rows.index[:MAX_GROUPS]]
    note = (
        "."
        if group_rows is None
        else "; one panel per group, each on its own scale."
        + (
            f" Showing the {MAX_GROUPS} largest of {len(group_rows)} groups."
            if len(group_rows) > MAX_GROUPS
            else ""
        )
    )
    for name in columns:
        panels, column_flags = [], []
        for label, lat_g, hist_g in _subsides(lat, hist, groups):
            lv, hv = lat_g.values(name), hist_g.values(name)
            ls, hs = _stats(lv), _stats(hv)
            flags = _numeric_flags(name, lv, hv, ls, hs, lat_g, hist_g) if hist_g.rows else []
            column_flags += [f"{label}: {f}" if label else f for f in flags]
            drift = f"<td>{_fmt(ks_statistic(hv, lv))}</td><td>{_fmt(psi(hv, lv))}</td>"
            group_cell = f'<td class="l" rowspan="2">{_e(label)}</td>' if grouped else ""
            table.append(
                f'<tr class="latest"><td class="l" rowspan="2"><b>{_e(name)}</b></td>'
                f'{group_cell}<td class="l">latest</td>{_cells(ls)}{drift}'
                f'{_flag_cell(flags, " rowspan=2")}</tr><tr><td class="l">history</td>'
                f"{_cells(hs)}<td></td><td></td></tr>"
            )
            panels.append((label, lv, hv, lat_g, hist_g))
        if column_flags:
            flagged.append(str(name))
        plots.append(f"<h3>{_e(name)}</h3>")
        if column_flags:
            plots.append(
                '<ul class="flags">' + "".join(f"<li>{_e(f)}</li>" for f in column_flags) + "</ul>"
            )
        from ._data_report_plots import _plots  # matplotlib loads only for reports with numbers

        plots.append(_plots(str(name), panels, note))
    return "".join(table) + "</table>" + "".join(plots), flagged


def _numeric_flags(
    name: Any, lv: np.ndarray, hv: np.ndarray, ls: _Stats, hs: _Stats, lat: _Side, hist: _Side
) -> list[str]:
    presence = _presence_flag(name, lat, hist)
    if presence:
        return presence
    flags = _null_flag(ls.null_pct, hs.null_pct)
    daily = pd.Series(hv).groupby(hist.days.to_numpy()).mean().dropna()
    if len(daily) and not np.isnan(ls.mean):
        lo, hi = float(daily.min()), float(daily.max())
        pad = MEAN_WIDEN * (hi - lo) + 1e-9 * max(abs(lo), abs(hi), 1.0)
        where = "above" if ls.mean > hi + pad else "below" if ls.mean < lo - pad else None
        if where:
            flags.append(
                f"mean {_fmt(ls.mean)} {where} history's daily means {_fmt(lo)}–{_fmt(hi)}"
            )
    # A new record by a hair is what a normal day does now and then; flag one that leaves
    # history's range by more than EXTREME_WIDEN of that range.
    margin = EXTREME_WIDEN * (hs.max - hs.min) if np.isfinite(hs.max - hs.min) else 0.0
    if ls.min < hs.min - margin:
        flags.append(f"min {_fmt(ls.min)} below history's min {_fmt(hs.min)}")
    if ls.max > hs.max + margin:
        flags.append(f"max {_fmt(ls.max)} above history's max {_fmt(hs.max)}")
    infinite = int(np.isinf(lat.frame[name].to_numpy(dtype="float64", na_value=np.nan)).sum())
    if infinite:
        flags.append(f"{_n(infinite, 'infinite value')} (left out of the statistics)")
    return flags


def _rows_flag(lat: _Side, hist: _Side) -> list[str]:
    """Flag a latest partition of at most a day whose rows are far from history's median day."""
    span = lat.times.max() - lat.times.min()
    if not hist.rows or pd.isna(span) or span > pd.Timedelta(days=1) or hist.days.isna().all():
        return []
    median = float(hist.days.value_counts().median())
    if abs(lat.rows - median) <= ROWS_TOLERANCE * median:
        return []
    return [f"{lat.rows:,} rows vs history's median of {median:,.0f} rows per day"]


# --- other columns ----------------------------------------------------------------------------


def _other_section(
    columns: list[Any], lat: _Side, hist: _Side, changed: dict[Any, str]
) -> tuple[str, list[str]]:
    if not columns:
        return "", []
    out = [
        '<h2>Other columns</h2><table><tr><th class="l">column</th>'
        f'<th class="l">latest: top {TOP_N}</th><th class="l">history: top {TOP_N}</th>'
        '<th>JS</th><th class="l">flag</th></tr>'
    ]
    flagged = []
    for name in columns:
        lvals, hvals = _text_values(lat.frame, name), _text_values(hist.frame, name)
        flags = [changed[name]] if name in changed else []
        if hist.rows:
            flags += _other_flags(name, lvals, hvals, lat, hist)
        if flags:
            flagged.append(str(name))
        out.append(
            f'<tr><td class="l"><b>{_e(name)}</b></td><td class="l">{_top(lvals)}</td>'
            f'<td class="l">{_top(hvals)}</td><td>{_fmt(jensen_shannon(hvals, lvals))}</td>'
            f"{_flag_cell(flags)}</tr>"
        )
    return "".join(out) + "</table>", flagged


def _text_values(frame: pd.DataFrame, name: Any) -> pd.Series:
    col = frame[name] if name in frame.columns else pd.Series([], dtype=object)
    return col[col.notna()].astype(object).map(_label)


def _other_flags(
    name: Any, lvals: pd.Series, hvals: pd.Series, lat: _Side, hist: _Side
) -> list[str]:
    presence = _presence_flag(name, lat, hist)
    if presence:
        return presence
    flags = _null_flag(
        100.0 * (lat.rows - len(lvals)) / lat.rows, 100.0 * (hist.rows - len(hvals)) / hist.rows
    )
    seen = set(hvals.unique())
    if len(seen) > _HIGH_CARDINALITY and len(seen) > 0.5 * len(hvals):
        return flags  # identifiers and free text: new values are normal
    counts = lvals[~lvals.isin(seen)].value_counts()
    if len(counts):
        shown = ", ".join(f"'{v}' ({_n(int(c), 'row')})" for v, c in counts.head(10).items())
        more = f" and {len(counts) - 10} more" if len(counts) > 10 else ""
        noun = "new category" if len(counts) == 1 else "new categories"
        flags.append(f"{len(counts)} {noun} never seen in history: {shown}{more}")
    return flags


def _top(values: pd.Series) -> str:
    if not len(values):
        return "–"
    counts = values.value_counts().head(TOP_N)
    return "<br>".join(f"{_e(v)} — {100.0 * c / len(values):.1f}%" for v, c in counts.items())


# --- checks, overview, notes ------------------------------------------------------------------


def _checks_section(results: list[dict[str, Any]]) -> str:
    out = [
        '<h2>Checks</h2><table><tr><th class="l">check</th><th>result</th><th>rows</th>'
        '<th>unexpected</th><th>unexpected %</th><th>mostly</th><th class="l">examples</th>'
        "</tr>"
    ]
    for r in results:
        ok, pct, mostly = bool(r.get("success")), r.get("unexpected_percent"), r.get("mostly")
        verdict = "pass" if ok else "WARN" if _is_warning(r) else "FAIL"
        examples = ", ".join(_label(x) for x in list(r.get("examples") or [])[:5])
        cells = [
            _count(r.get("element_count")),
            _count(r.get("unexpected_count")),
            "–" if pct is None else f"{float(pct):.2f}%",
            "–" if mostly is None else f"{float(mostly):g}",
        ]
        out.append(
            f'<tr><td class="l">{_e(r.get("check", "?"))}</td>'
            f'<td class="{"pass" if ok else "fail"}">{verdict}</td>'
            + "".join(f"<td>{_e(c)}</td>" for c in cells)
            + f'<td class="l">{_e(examples or "–")}</td></tr>'
        )
    return "".join(out) + "</table>"


def _is_warning(result: dict[str, Any]) -> bool:
    return not result.get("success") and result.get("severity", "error") != "error"


def _checks_headline(results: list[dict[str, Any]]) -> list[str]:
    """ "2 of 5 checks failed", and apart from them the failed checks of severity warn."""
    total = _n(len(results), "check")
    failed = [r for r in results if not r.get("success") and not _is_warning(r)]
    warned = [r for r in results if _is_warning(r)]
    out = [f"{len(failed)} of {total} failed"] if failed else []
    if warned:
        names = ", ".join(str(r.get("check", "?")) for r in warned)
        out.append(f"{len(warned)} of {total} warned (severity warn, data kept: {names})")
    return out


def _count(value: Any) -> str:
    return "–" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


def _describe(side: _Side) -> str:
    days = side.days.dropna()
    if not side.rows or not len(days):
        return _n(side.rows, "row")
    first, last, n = days.min().date(), days.max().date(), days.nunique()
    span = f"{first}" if first == last else f"{first} to {last}"
    median = f", median {days.value_counts().median():,.0f} rows per day" if n > 1 else ""
    return f"{_n(side.rows, 'row')} over {_n(n, 'day')} ({span}){median}"


def _overview(
    lat: _Side,
    hist: _Side,
    latest_label: str,
    group_column: str | None,
    group_rows: pd.Series | None,
) -> str:
    items = [f"latest ({latest_label}): {_describe(lat)}", f"history: {_describe(hist)}"]
    if group_column is not None:
        n = 0 if group_rows is None else len(group_rows)
        capped = f" (the {MAX_GROUPS} largest are shown)" if n > MAX_GROUPS else ""
        items.append(
            f"grouped by {group_column}: {_n(n, 'group')}{capped}; every numeric column is "
            "summarised, flagged and plotted per group"
        )
    return "<h2>Overview</h2><ul>" + "".join(f"<li>{_e(i)}</li>" for i in items) + "</ul>"


_RULES = (
    "<h2>How flags are decided</h2><ul class='meta'>"
    f"<li>null: the latest null % exceeds history's by more than {NULL_POINTS:g} points.</li>"
    "<li>mean: the latest mean lies outside the range of history's daily means, widened by "
    f"{MEAN_WIDEN:.0%} of that range on each side.</li>"
    "<li>min/max: the latest min or max lies outside history's min–max range widened by "
    f"{EXTREME_WIDEN:.0%} of that range on each side.</li>"
    "<li>new categories: values never seen in history (not for columns "
    "with many distinct values, such as identifiers).</li><li>rows: a partition of at most a "
    f"day whose rows are more than {ROWS_TOLERANCE:.0%} away from history's median rows per "
    "day.</li><li>KS and PSI (numbers), JS (categories): drift of the latest partition from "
    "history, from heliograph.metrics: the Kolmogorov–Smirnov statistic (0 to 1), the "
    "population stability index over history's deciles (above 0.25 is conventionally a large "
    "shift) and the Jensen–Shannon distance (0 to 1). Shown, not flagged.</li></ul>"
)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


# --- plots ------------------------------------------------------------------------------------
