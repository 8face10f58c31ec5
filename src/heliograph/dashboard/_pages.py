"""The dashboard's pages: thin Streamlit code over ``_data``, ``_lake_data`` and ``_charts``.

Each page reads through ``cached`` (a short-lived memory of the data functions, so a reload
does not read the ledger again within ``TTL_SECONDS``) and says what to run when there is
nothing to show. ``guarded`` turns any error into one sentence on the page, never a traceback.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st

from heliograph.core import HelioError, Project, redacted, secret_values

from . import _charts as charts
from . import _data as data
from . import _lake_data as lake_data

__all__ = []  # the pages belong to the script (_app.py), not to the API

TTL_SECONDS = 15
DRAWN = "page drawn at"  # the last line of every page, also when it failed
_log = logging.getLogger("heliograph.dashboard")
_ServicePage = Callable[[Project, str, str, Any], None]


@st.cache_resource
def _project(root: str) -> Project:
    return Project.load(root)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False, max_entries=64)
def cached(function: str, root: str, *args: Any, **kwargs: Any) -> Any:
    """``function`` (a name in ``_data`` or ``_lake_data``) of the project at ``root``."""
    module = data if hasattr(data, function) else lake_data
    return getattr(module, function)(_project(root), *args, **kwargs)


def guarded(page: Callable[[Project], None], title: str) -> Callable[[Project], None]:
    """The page, with any error shown as one sentence (the details go to the server log),
    and as its last line ``TITLE · page drawn at ...`` (what a browser test waits for)."""

    @functools.wraps(page)
    def run(project: Project) -> None:
        try:
            page(project)
        except HelioError as exc:  # a message may quote configuration: no secret shown
            st.error(redacted(exc.headline, secret_values(project.settings)))
        except Exception as exc:
            _log.exception("dashboard page %s failed", page.__name__)
            st.error(
                f"This page could not be drawn ({type(exc).__name__}); the dashboard's "
                "log has the details."
            )
        st.caption(
            f"{title} · {DRAWN} {datetime.now(UTC):%H:%M:%S} UTC · figures are kept {TTL_SECONDS} s"
        )

    return run


def _state_colour(state: str) -> str:
    return "color: #cf222e; font-weight: 600" if state == "alerting" else "color: #1a7f37"


def _hint(key: str) -> None:
    st.info(data.HINTS[key])


def _when(value: Any) -> str:
    return "" if value is None or pd.isna(value) else f"{pd.Timestamp(value):%Y-%m-%d %H:%M} UTC"


def _service(project: Project, key: str) -> tuple[str, Any] | tuple[None, None]:
    """The service chosen (and the end of its newest monitor pass), or a hint."""
    ends = cached("services_of", str(project.root))
    if not ends:
        _hint("services")
        return None, None
    service = st.selectbox("service", sorted(ends), key=f"{key}-service")
    return service, ends[service]


def _per_service(title: str, key: str) -> Callable[[_ServicePage], Callable[[Project], None]]:
    """A page about one monitored service: its title, the service chooser, then ``body``
    (the project, its root, the service and the end of its newest pass); a hint instead
    when nothing is monitored yet."""

    def wrap(body: _ServicePage) -> Callable[[Project], None]:
        @functools.wraps(body)
        def page(project: Project) -> None:
            st.title(title)
            service, end = _service(project, key)
            if service is not None:
                body(project, str(project.root), service, end)

        return page

    return wrap


# -- pages ------------------------------------------------------------------------------------


def overview(project: Project) -> None:
    root = str(project.root)
    st.title("Overview")
    st.caption(
        f"project **{project.settings.project.name}** · clock "
        f"{project.clock().describe()} · now {_when(project.clock().now())}"
    )
    view = cached("overview", root)
    health = view.health
    alerting = int(health["alerting"].sum()) if not health.empty else 0
    left, middle, right = st.columns(3)
    left.metric("services monitored", len(cached("services_of", root)))
    middle.metric("health checks alerting", f"{alerting} of {len(health)}")
    right.metric("newest alerts shown", len(view.alerts))
    st.subheader("Versions behind each alias")
    if view.aliases.empty:
        st.info(
            "No model holds an alias yet: train one (`helio train`), then `helio model "
            "promote NAME`."
        )
    else:
        table = view.aliases.assign(since=view.aliases["since"].map(_when))
        st.dataframe(table, hide_index=True, width="stretch")
    st.subheader("Health")
    if health.empty:
        _hint("services")
    else:
        shown = health.assign(
            state=health["alerting"].map({True: "alerting", False: "ok"}),
            checked_at=health["checked_at"].map(_when),
        ).sort_values(["alerting", "subject"], ascending=[False, True])
        styled = shown[["subject", "state", "checked_at"]].style.map(_state_colour, subset="state")
        st.dataframe(styled, hide_index=True, width="stretch")
    st.subheader("Latest alerts")
    if view.alerts.empty:
        _hint("alerts")
    else:
        st.dataframe(
            view.alerts.assign(at=view.alerts["at"].map(_when)), hide_index=True, width="stretch"
        )


@_per_service("Forecast against actual", "forecast")
def forecast(project: Project, root: str, service: str, end: Any) -> None:
    models = cached("models_of", root, service, end)
    left, right = st.columns([2, 1])
    model = left.selectbox("model (market)", models, key="forecast-model") if models else None
    hours = right.select_slider("hours shown", [12, 24, 48, 72, 168], value=48)
    if model is None:
        _hint("forecast")
        return
    now = project.clock().now()
    frame = cached("forecast", root, service, model, hours=float(hours))
    if frame.empty:
        _hint("forecast")
        return
    st.altair_chart(charts.forecast_chart(frame, now), width="stretch")
    judged = frame.dropna(subset=["actual"])
    if "p50" in frame.columns and not judged.empty:
        error = (judged["p50"] - judged["actual"]).abs().groupby(judged["role"]).mean()
        cols = st.columns(max(1, len(error)))
        for col, (role, mae) in zip(cols, error.items(), strict=False):
            col.metric(f"{role} MAE over the shown actuals", f"{mae:.2f}")
    st.caption(
        "Each target time shows the newest forecast made before it (the first answer "
        "of each hour); the band is the outer quantiles; dots are actuals."
    )


@_per_service("Live metrics", "metrics")
def live_metrics(project: Project, root: str, service: str, end: Any) -> None:
    names = cached("metric_names", root, service, end)
    if not names:
        _hint("metrics")
    else:
        policy = project.settings.policy.metric
        metric = st.selectbox(
            "metric",
            names,
            index=names.index(policy) if policy in names else 0,
            key="metrics-metric",
        )
        frame = cached("live_metrics", root, service, metric, end=end)
        st.altair_chart(charts.metric_lines(frame, metric), width="stretch")
    st.subheader(f"The policy's verdict ({project.settings.policy.metric})")
    found = cached("verdicts", root, service, end)
    if not found:
        _hint("verdict")
    for verdict in found:
        roles = f"champion v{verdict.champion or '-'}, challenger v{verdict.challenger or '-'}"
        st.markdown(f"**{verdict.model}** · {roles}")
        if verdict.decision:
            accepted = verdict.decision.startswith("accepted")
            box = st.success if accepted else st.warning
            box(f"{_when(verdict.decided_at)}: {verdict.decision}")
        else:
            _hint("verdict")
        st.caption(verdict.standing)


@_per_service("Drift", "drift")
def drift(project: Project, root: str, service: str, end: Any) -> None:
    frame = cached("drift", root, service, end)
    if frame.empty:
        _hint("drift")
        return
    statistics = sorted(frame["name"].unique())
    left, right = st.columns([1, 2])
    statistic = left.selectbox(
        "statistic", statistics, index=statistics.index("psi") if "psi" in statistics else 0
    )
    # each market's model numbers its own versions: a version is chosen with its model
    label = frame["model_name"] + " · " + frame["role"] + " v" + frame["model_version"].astype(str)
    chosen = right.selectbox("version", sorted(label.unique()))
    mine = frame[label == chosen]
    model, role, version = (str(mine[c].iloc[0]) for c in ("model_name", "role", "model_version"))
    shown = mine[mine["name"] == statistic]
    over = int(shown["over"].sum())
    st.metric(f"features over the {statistic} threshold", f"{over} of {len(shown)}")
    st.altair_chart(charts.drift_bars(mine, statistic), width="stretch")
    prediction = shown[shown["feature"] == "prediction"]
    if not prediction.empty:
        row = prediction.iloc[0]
        st.caption(
            f"the predictions' own {statistic}: {row['value']:.3g} (threshold {row['threshold']:g})"
        )
    top = shown.sort_values("value", ascending=False)["feature"].head(5).tolist()
    which = {"model_name": model, "model_version": version, "role": role}
    history = cached("drift_history", root, service, statistic, top, **which, end=end)
    if not history.empty and top:
        st.subheader(f"{statistic} over time, the five most drifted")
        threshold = float(shown["threshold"].iloc[0])
        st.altair_chart(charts.drift_lines(history, top, threshold), width="stretch")
    with st.expander("every feature"):
        st.dataframe(
            shown[["feature", "value", "threshold", "over", "count"]].sort_values(
                "value", ascending=False
            ),
            hide_index=True,
            width="stretch",
        )


def data_page(project: Project) -> None:
    root = str(project.root)
    st.title("Data")
    st.subheader("Checks")
    found = cached("checks", root)
    if found.empty:
        _hint("checks")
    else:
        st.dataframe(found, hide_index=True, width="stretch")
    st.subheader("Quarantine")
    held = cached("quarantine", root)
    if held.empty:
        _hint("quarantine")
    for row in held.head(20).itertuples():
        with st.expander(f"{row.dataset} {row.partition}: {row.rows} rows, {row.reason}"):
            st.markdown(row.report)
    st.subheader("Latest data reports")
    reports = cached("data_reports", root)
    if reports.empty:
        _hint("reports")
    for row in reports.head(10).itertuples():
        left, right = st.columns([3, 1])
        left.markdown(f"**{row.report}** · written {_when(row.written_at)}")
        with open(row.path, "rb") as handle:
            right.download_button(
                "download",
                handle.read(),
                file_name=f"{row.report}.html",
                mime="text/html",
                key=f"report-{row.report}",
            )


def timeline(project: Project) -> None:
    root = str(project.root)
    st.title("Event timeline")
    with st.expander("kinds shown"):
        kinds = st.multiselect(
            "kinds", list(data.TIMELINE_KINDS), default=list(data.TIMELINE_KINDS)
        )
    frame = cached("events", root, tuple(kinds))
    if frame.empty:
        _hint("events")
        return
    st.altair_chart(charts.event_timeline(frame), width="stretch")
    st.dataframe(frame.assign(at=frame["at"].map(_when)), hide_index=True, width="stretch")


def lineage(project: Project) -> None:
    root = str(project.root)
    st.title("Lineage")
    services = sorted(cached("services_of", root))
    recent = cached("recent_predictions", root, services[0]) if services else pd.DataFrame()
    suggestion = str(recent["record_id"].iloc[0]) if not recent.empty else ""
    ident = st.text_input("prediction id, snapshot id or partition", value=suggestion)
    if not recent.empty:
        with st.expander(f"newest predictions of {services[0]}"):
            st.dataframe(
                recent.assign(at=recent["at"].map(_when)), hide_index=True, width="stretch"
            )
    if not ident.strip():
        _hint("lineage")
        return
    found = cached("lineage_of", root, ident.strip())
    if found["kind"] == "prediction":
        _prediction_lineage(found)
    else:
        st.subheader(f"{found['target']}: used by")
        st.markdown(
            f"{len(found['runs'])} runs, {len(found['versions'])} versions, "
            f"{found['predictions']:,} predictions"
        )
        st.dataframe(pd.DataFrame(found["versions"]), hide_index=True, width="stretch")
    with st.expander("as JSON (`helio lineage ID --json`)"):
        st.json(found)


def _prediction_lineage(found: dict[str, Any]) -> None:
    p, version = found["prediction"], found["version"]
    st.subheader(f"prediction {p['record_id']}")
    st.markdown(
        f"service **{p['service']}** as **{p['role']}**, at {p['at'][:19]} UTC "
        f"(request `{p['request_id']}`)"
    )
    if version is None:
        st.warning("The version that made it kept no lineage in the ledger.")
        return
    aliases = f" ({', '.join(version['aliases'])})" if version["aliases"] else ""
    dirty = " (uncommitted changes)" if version["dirty"] else ""
    st.markdown(
        f"- **model** {version['model']} v{version['version']}{aliases}, "
        f"{version['predictions']:,} predictions\n"
        f"- **run** `{version['run_id']}`\n"
        f"- **commit** `{version['commit']}`{dirty}\n"
        f"- **checks** {({True: 'passed', False: 'FAILED'}).get(version['checks_passed'], '?')}"
    )
    rows = [
        {
            "snapshot": s["id"],
            "rows": s["rows"],
            "partitions": len(s["partitions"]),
            "retracted": "; ".join(s["retracted"]),
        }
        for s in found["snapshots"]
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    environment = version["environment"]
    if environment:
        st.caption(", ".join(f"{k} {v}" for k, v in sorted(environment.items())))


PAGES: list[tuple[str, str, str, Callable[[Project], None]]] = [
    ("overview", "Overview", ":material/dashboard:", overview),
    ("forecast", "Forecast vs actual", ":material/show_chart:", forecast),
    ("metrics", "Live metrics", ":material/monitoring:", live_metrics),
    ("drift", "Drift", ":material/ssid_chart:", drift),
    ("data", "Data", ":material/database:", data_page),
    ("events", "Event timeline", ":material/timeline:", timeline),
    ("lineage", "Lineage", ":material/account_tree:", lineage),
]
"""(url path, title, icon, page) of each page, in the sidebar's order."""
