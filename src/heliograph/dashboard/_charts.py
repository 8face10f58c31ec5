"""The dashboard's charts, built from the frames of ``_data`` (Vega-Lite through Altair).

Colours are fixed per role, so champion and challenger look the same on every page.

Example::

    chart = forecast_chart(forecast(project, "price-forecast", "energy-price-GB"), now)
    chart.to_dict()["layer"][0]["mark"]["type"]
    # 'area'
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

import altair as alt
import pandas as pd

__all__ = [
    "ROLE_COLOURS",
    "drift_bars",
    "drift_lines",
    "event_timeline",
    "forecast_chart",
    "metric_lines",
]

ROLE_COLOURS = {"champion": "#1f6feb", "challenger": "#e8710a", "actual": "#1b1f24"}
_HEIGHT = 320


def _roles(*present: str) -> alt.Scale:
    """The role colours, for the roles of this chart only (in the order of ``ROLE_COLOURS``)."""
    domain = [r for r in ROLE_COLOURS if r in present] or list(ROLE_COLOURS)
    return alt.Scale(domain=domain, range=[ROLE_COLOURS[r] for r in domain])


def _bounds(frame: pd.DataFrame) -> tuple[str, str] | None:
    """The lowest and highest quantile columns (``p10``, ``p90``), when there are two."""
    quantiles = sorted(
        (c for c in frame.columns if c.startswith("p") and c[1:].isdigit()),
        key=lambda c: int(c[1:]),
    )
    return (quantiles[0], quantiles[-1]) if len(quantiles) >= 2 else None


def forecast_chart(frame: pd.DataFrame, now: datetime | None = None) -> alt.LayerChart:
    """The P10–P90 band and the median of each role, the actuals as dots, a rule at now."""
    middle = (
        "p50"
        if "p50" in frame.columns
        else next(
            (
                c
                for c in frame.columns
                if c not in ("target_time", "role", "version", "as_of", "actual")
            ),
            "p50",
        )
    )
    data = frame.assign(series=frame["role"] + " v" + frame["version"].astype(str))
    x = alt.X("target_time:T", title="target time (UTC)")
    actuals = frame.dropna(subset=["actual"]).drop_duplicates("target_time")
    roles = [*frame["role"].unique(), *(["actual"] if not actuals.empty else [])]
    colour = alt.Color("role:N", scale=_roles(*roles), title="")
    layers: list[alt.Chart] = []
    bounds = _bounds(frame)
    if bounds is not None:
        low, high = bounds
        layers.append(
            alt.Chart(data)
            .mark_area(opacity=0.18)
            .encode(
                x=x,
                y=alt.Y(f"{low}:Q", title="value"),
                y2=f"{high}:Q",
                color=colour,
                detail="series:N",
            )
        )
    layers.append(
        alt.Chart(data)
        .mark_line(strokeWidth=2)
        .encode(
            x=x,
            y=alt.Y(f"{middle}:Q", title="value"),
            color=colour,
            detail="series:N",
            tooltip=[
                "series:N",
                alt.Tooltip("target_time:T", format="%Y-%m-%d %H:%M"),
                alt.Tooltip(f"{middle}:Q", format=".2f"),
            ],
        )
    )
    if not actuals.empty:
        layers.append(
            alt.Chart(actuals.assign(role="actual"))
            .mark_circle(size=28)
            .encode(
                x=x,
                y="actual:Q",
                color=colour,
                tooltip=[
                    alt.Tooltip("target_time:T", format="%Y-%m-%d %H:%M"),
                    alt.Tooltip("actual:Q", format=".2f"),
                ],
            )
        )
    if now is not None:
        rule = pd.DataFrame({"now": [pd.Timestamp(now)]})
        layers.append(
            alt.Chart(rule).mark_rule(strokeDash=[4, 4], color="#6e7781").encode(x="now:T")
        )
    return cast(
        alt.LayerChart, alt.layer(*layers).properties(height=_HEIGHT).interactive(bind_y=False)
    )


def metric_lines(frame: pd.DataFrame, metric: str) -> alt.Chart:
    """``metric`` per model version and role over the monitor passes."""
    data = frame[frame["name"] == metric].dropna(subset=["value"])
    data = data.assign(series=data["role"] + " v" + data["model_version"].astype(str))
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("window_end:T", title="window end (UTC)"),
            y=alt.Y("value:Q", title=metric),
            color=alt.Color("role:N", scale=_roles(*data["role"].unique())),
            strokeDash="model_version:N",
            detail="series:N",
            tooltip=[
                "series:N",
                alt.Tooltip("window_end:T", format="%Y-%m-%d %H:%M"),
                alt.Tooltip("value:Q", format=".4g"),
                "count:Q",
            ],
        )
        .properties(height=_HEIGHT)
    )


def drift_bars(frame: pd.DataFrame, statistic: str, top: int = 20) -> alt.LayerChart:
    """The ``top`` features by ``statistic``, with the threshold as a rule."""
    data = frame[frame["name"] == statistic].dropna(subset=["value"])
    data = data.sort_values("value", ascending=False).head(top)
    data = data.assign(series=data["role"] + " v" + data["model_version"].astype(str))
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("feature:N", sort="-x", title="", axis=alt.Axis(labelLimit=260)),
            x=alt.X("value:Q", title=statistic),
            color=alt.Color(
                "over:N",
                scale=alt.Scale(domain=[False, True], range=["#8c959f", "#cf222e"]),
                title="over threshold",
            ),
            tooltip=[
                "feature:N",
                "series:N",
                alt.Tooltip("value:Q", format=".3g"),
                "threshold:Q",
                "count:Q",
            ],
        )
    )
    threshold = data["threshold"].dropna()
    if threshold.empty:
        return cast(alt.LayerChart, alt.layer(bars).properties(height=max(120, 26 * len(data))))
    rule = alt.Chart(pd.DataFrame({"threshold": [float(threshold.iloc[0])]}))
    rule = rule.mark_rule(color="#cf222e", strokeDash=[4, 4]).encode(x="threshold:Q")
    return cast(alt.LayerChart, alt.layer(bars, rule).properties(height=max(120, 26 * len(data))))


def drift_lines(frame: pd.DataFrame, features: list[str], threshold: float) -> alt.LayerChart:
    """A statistic of ``features`` over the passes, with the threshold."""
    data = frame[frame["feature"].isin(features)].dropna(subset=["value"])
    data = data.assign(series=data["feature"] + " · " + data["role"])
    lines = (
        alt.Chart(data)
        .mark_line()
        .encode(
            x=alt.X("window_end:T", title="window end (UTC)"),
            y=alt.Y("value:Q", title=str(data["name"].iloc[0]) if len(data) else "value"),
            color=alt.Color("feature:N", title="feature"),
            strokeDash="role:N",
            detail="series:N",
            tooltip=["series:N", alt.Tooltip("value:Q", format=".3g")],
        )
    )
    rule = alt.Chart(pd.DataFrame({"threshold": [threshold]}))
    rule = rule.mark_rule(color="#cf222e", strokeDash=[4, 4]).encode(y="threshold:Q")
    return cast(alt.LayerChart, alt.layer(lines, rule).properties(height=_HEIGHT))


def event_timeline(frame: pd.DataFrame) -> alt.Chart:
    """One tick per event, a row per kind."""
    return (
        alt.Chart(frame)
        .mark_tick(thickness=2, size=18)
        .encode(
            x=alt.X(
                "at:T",
                title="time (UTC)",
                axis=alt.Axis(format="%m-%d %H:%M:%S", labelOverlap=True),
            ),
            y=alt.Y("kind:N", title=""),
            color=alt.Color("kind:N", legend=None),
            tooltip=[
                alt.Tooltip("at:T", format="%Y-%m-%d %H:%M:%S"),
                "kind:N",
                "subject:N",
                "reason:N",
            ],
        )
        .properties(height=max(160, 40 * frame["kind"].nunique()))
    )
