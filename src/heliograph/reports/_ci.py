"""CI report: a candidate model version against a baseline, ready for a pull request.

Writes ``report.md`` and PNG plots beside it, so a CI job can post the folder as a comment.
The report shows one comparison: the two runs the policy compared (``Decision.candidate_run``
and ``Decision.baseline_run``), on the candidate's backtest window. When the baseline was
backtested on another window, that is the run which re-scored the baseline's model on the
candidate's window; its numbers are the verdict's, the table's and the plots'.

What the numbers mean comes from the runs, not from this module: the ``helio.metrics`` tag
(units, which way is better, the order to show them) and the ``helio.predictions`` tag (the
artefact holding the backtest's predictions, and its columns). A run without them still gets
a report: every logged ``backtest_*`` metric, without units, and no forecast plot.

Example::

    decision, path = write_ci_report(Registry(project), "model-a", out_dir=Path("ci"))
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

from heliograph.core import PolicySettings, atomic_write
from heliograph.registry import (
    TAG_METRICS,
    TAG_PREDICTIONS,
    TAG_WINDOW,
    Decision,
    Registry,
    format_change,
    metric_key,
    relative_change,
)
from heliograph.tracking import TAG_CHECKS_PASSED, TAG_GIT_COMMIT, TAG_GIT_DIRTY, TAG_SNAPSHOTS

__all__ = ["write_ci_report"]

_NOT_METRICS = {"n", "fits"}  # counts, not qualities
_SHOWN_DAYS = 14  # the forecast plot shows the last two weeks of the window


def _fmt(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.4g}"


def _descriptions(runs: list[Any], policy: PolicySettings) -> dict[str, dict[str, Any]]:
    """``{metric: {"unit", "better"}}`` from the runs' ``helio.metrics`` tags, else guessed."""
    described: dict[str, dict[str, Any]] = {}
    for run in runs:
        try:
            tag = json.loads(run.data.tags.get(TAG_METRICS, "{}"))
        except json.JSONDecodeError:
            tag = {}
        for name, info in tag.items():
            described.setdefault(name, dict(info) if isinstance(info, dict) else {})
    if not described:  # a run from before the tag: every metric both logged, no units
        prefix = metric_key("")
        logged = [set(run.data.metrics) for run in runs]
        common = set.intersection(*logged) if logged else set()
        for key in sorted(common):
            name = key.removeprefix(prefix)
            if key.startswith(prefix) and name not in _NOT_METRICS:
                described[name] = {}
    better = "lower" if policy.direction == "minimize" else "higher"
    described.setdefault(policy.metric, {}).setdefault("better", better)
    return described


def _judge(better: Any, cand: float, base: float) -> str:
    if cand == base:
        return "equal"
    if better == "lower":
        return "better" if cand < base else "worse"
    if better == "higher":
        return "better" if cand > base else "worse"
    if isinstance(better, int | float):  # a target, such as 0.8 for an 80 % interval
        return "better" if abs(cand - better) < abs(base - better) else "worse"
    return ""


def _row(metric: str, info: dict[str, Any], cand: float | None, base: float | None) -> str:
    change = "–"
    if cand is not None and base is not None and not math.isnan(cand) and not math.isnan(base):
        word = _judge(info.get("better"), cand, base)
        mark = {"better": " ✅", "worse": " ⚠️"}.get(word, "")
        change = f"{format_change(relative_change(cand, base))} {word}{mark}".rstrip()
    better = info.get("better")
    aim = f"closer to {better}" if isinstance(better, int | float) else (better or "–")
    return (
        f"| {metric} | {info.get('unit', '–')} | {aim} | {_fmt(cand)} | {_fmt(base)} | {change} |"
    )


def _metric_plot(
    path: Path, described: dict[str, dict[str, Any]], values: dict[str, dict[str, float]]
) -> None:
    """Small multiples: one panel per metric, each on its own scale and with its unit."""
    from matplotlib.figure import Figure

    labels = list(values)
    shown = [m for m in described if any(metric_key(m) in values[label] for label in labels)]
    cols = min(4, max(len(shown), 1))
    rows = max(1, math.ceil(len(shown) / cols))
    fig = Figure(figsize=(2.6 * cols, 2.3 * rows + 0.4), dpi=100, layout="constrained")
    colours = ["#1f77b4", "#ff7f0e"]
    for i, metric in enumerate(shown):
        ax = fig.add_subplot(rows, cols, i + 1)
        heights = [values[label].get(metric_key(metric), math.nan) for label in labels]
        bars = ax.bar(range(len(labels)), heights, color=colours[: len(labels)], width=0.6)
        ax.bar_label(bars, labels=[_fmt(h) for h in heights], fontsize=8, padding=2)
        info = described[metric]
        unit = info.get("unit")
        ax.set_title(metric + (f" ({unit})" if unit else ""), fontsize=9)
        target = info.get("better")
        if isinstance(target, int | float):
            ax.axhline(target, color="grey", lw=0.8, ls="--")
        ax.set_xticks(range(len(labels)), labels, fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
        ax.margins(y=0.2)
        low = min([0.0, *[h for h in heights if not math.isnan(h)]])
        ax.set_ylim(bottom=low * 1.2 if low < 0 else 0)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    fig.suptitle("backtest metrics on the same window (one panel per metric)", fontsize=10)
    fig.savefig(path)


def _predictions(registry: Registry, run: Any) -> tuple[Any, dict[str, Any]] | None:
    import pandas as pd

    try:
        spec = json.loads(run.data.tags.get(TAG_PREDICTIONS, ""))
    except json.JSONDecodeError:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            local = registry.client.download_artifacts(run.info.run_id, spec["path"], tmp)
        except Exception:  # the tag names an artefact that is not there
            return None
        return pd.read_parquet(local), spec


def _forecast_plot(path: Path, series: dict[str, tuple[Any, dict[str, Any]]]) -> str:
    """Actual and each version's forecast over the last days of the common window."""
    import matplotlib.dates as mdates
    import pandas as pd
    from matplotlib.figure import Figure

    (first, spec), *_ = series.values()
    time, actual = spec.get("time"), spec["actual"]
    fig = Figure(figsize=(10, 3.6), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    colours = ["#1f77b4", "#ff7f0e"]
    if time:
        end = max(pd.to_datetime(frame[s["time"]]).max() for frame, s in series.values())
        start = end - pd.Timedelta(days=_SHOWN_DAYS)
        recent = first.loc[pd.to_datetime(first[time]) > start].sort_values(time)
        ax.plot(recent[time], recent[actual], lw=1.2, color="black", label="actual")
        for colour, (label, (frame, s)) in zip(colours, series.items(), strict=False):
            part = frame.loc[pd.to_datetime(frame[s["time"]]) > start].sort_values(s["time"])
            if s.get("low") and s.get("high"):
                ax.fill_between(
                    part[s["time"]],
                    part[s["low"]],
                    part[s["high"]],
                    color=colour,
                    alpha=0.15,
                    label=f"{label} {s['low']}–{s['high']}",
                )
            ax.plot(
                part[s["time"]],
                part[s["forecast"]],
                lw=1,
                color=colour,
                label=f"{label} {s['forecast']}",
            )
        locator = mdates.AutoDateLocator(minticks=5, maxticks=10)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        shown = pd.to_datetime(recent[time])
        title = f"forecast vs actual, {shown.min():%Y-%m-%d} to {shown.max():%Y-%m-%d}"
    else:  # no time column: predicted against actual
        for colour, (label, (frame, s)) in zip(colours, series.items(), strict=False):
            ax.scatter(
                frame[actual], frame[s["forecast"]], s=6, color=colour, alpha=0.5, label=label
            )
        ax.set_xlabel("actual")
        ax.set_ylabel("forecast")
        title = "forecast vs actual"
    if spec.get("unit"):
        (ax.set_ylabel if time else ax.set_xlabel)(spec["unit"])
    fig.suptitle(title, fontsize=10)
    ax.legend(fontsize=8, loc="lower left", bbox_to_anchor=(0, 1.0), ncols=5, frameon=False)
    ax.tick_params(labelsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.savefig(path)
    return path.name


def _lineage(registry: Registry, decision: Decision, cand: Any, base: Any | None) -> list[str]:
    """How each version was made (its training run) and what the comparison read."""
    made = {"candidate": registry.run_of(decision.model, decision.candidate or "")}
    if decision.against is not None and base is not None:
        made["baseline"] = registry.run_of(decision.model, decision.against)
    compared = {"candidate": cand, "baseline": base}

    def cell(run: Any, tag: str) -> str:
        return "–" if run is None else str(run.data.tags.get(tag, "–"))

    lines = ["| | candidate | baseline |", "| --- | --- | --- |"]
    lines.append(f"| version | {decision.candidate} | {decision.against or '–'} |")
    lines.append(
        f"| run compared | {cand.info.run_id} | {base.info.run_id if base is not None else '–'} |"
    )
    for tag, label in ((TAG_WINDOW, "window compared"), (TAG_SNAPSHOTS, "scored on")):
        lines.append(
            f"| {label} | {cell(compared['candidate'], tag)} | {cell(compared['baseline'], tag)} |"
        )
    for tag, label in (
        ("helio.model", "model"),
        (TAG_SNAPSHOTS, "trained on"),
        (TAG_CHECKS_PASSED, "checks passed"),
        (TAG_GIT_COMMIT, "git commit"),
        (TAG_GIT_DIRTY, "dirty tree"),
    ):
        lines.append(
            f"| {label} | {cell(made['candidate'], tag)} | {cell(made.get('baseline'), tag)} |"
        )
    return lines


def write_ci_report(
    registry: Registry,
    model: str,
    *,
    candidate: str = "challenger",
    against: str = "champion",
    out_dir: Path = Path("ci-report"),
) -> tuple[Decision, Path]:
    """Judge ``candidate`` against ``against`` by the policy and write the report."""
    decision = registry.evaluate(model, candidate=candidate, against=against)
    out_dir.mkdir(parents=True, exist_ok=True)
    policy = registry.project.settings.policy
    lines = [f"# Model report: {model}", ""]
    verdict = "✅ the policy would promote" if decision.accepted else "❌ the policy would refuse"
    lines += [
        f"**{verdict}** {candidate} (version {decision.candidate or '–'}) over "
        f"{against} (version {decision.against or '–'}).",
        "",
    ]
    lines += [f"- {reason}" for reason in decision.reasons]
    lines += [
        "",
        f"Policy: {policy.metric} ({policy.direction}), margin "
        f"{100 * policy.min_margin:.2f}%, checks required: {policy.require_checks}, "
        f"same window: {policy.same_window}. Change = (candidate − baseline) / |baseline|.",
        "",
    ]
    client = registry.client
    cand = client.get_run(decision.candidate_run) if decision.candidate_run else None
    base = client.get_run(decision.baseline_run) if decision.baseline_run else None
    for stale in ("metrics.png", "forecast.png"):  # never show a plot from an earlier report
        (out_dir / stale).unlink(missing_ok=True)
    if cand is not None:
        runs = [cand] if base is None else [cand, base]
        described = _descriptions(runs, policy)
        window = decision.window or "–"
        if decision.against is not None and base is None:
            lines += [
                f"Version {decision.against} was not scored on {window}: there is nothing "
                "comparable to show for it.",
                "",
            ]
        lines += [
            f"## Metrics (backtest window {window})",
            "",
            "| metric | unit | better | candidate | baseline | change |",
            "| --- | --- | --- | ---: | ---: | --- |",
        ]
        for metric, info in described.items():
            key = metric_key(metric)
            lines.append(
                _row(
                    metric,
                    info,
                    cand.data.metrics.get(key),
                    base.data.metrics.get(key) if base is not None else None,
                )
            )
        lines += ["", "## Lineage", "", *_lineage(registry, decision, cand, base)]
        values = {f"{candidate} v{decision.candidate}": dict(cand.data.metrics)}
        if base is not None:
            values[f"{against} v{decision.against}"] = dict(base.data.metrics)
        _metric_plot(out_dir / "metrics.png", described, values)
        lines += ["", "## Plots", "", "![backtest metrics](metrics.png)", ""]
        series = {}
        for label, run in zip(values, runs, strict=True):
            found = _predictions(registry, run)
            if found is not None:
                series[label] = found
        if series and len(series) == len(runs):
            name = _forecast_plot(out_dir / "forecast.png", series)
            lines += [f"![forecast vs actual]({name})", ""]
        else:
            lines += ["(no forecast plot: a run compared did not log its predictions)", ""]
    path = out_dir / "report.md"
    atomic_write(path, "\n".join(lines) + "\n")
    return decision, path
