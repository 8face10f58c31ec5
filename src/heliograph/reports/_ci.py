"""CI report: a candidate model version against the champion, ready for a pull request.

Writes ``report.md`` (the policy's verdict, a metric table with differences, the lineage of
both versions) and PNG plots beside it (the metrics side by side, and each version's
forecast-versus-actual plot from its run), so a CI job can post the folder as a comment.

>>> decision, path = write_ci_report(Registry(project), "energy-price-GB", out_dir=Path("ci"))
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

from heliograph.core import atomic_write
from heliograph.registry import Decision, Registry, metric_key
from heliograph.tracking import TAG_CHECKS_PASSED, TAG_GIT_COMMIT, TAG_GIT_DIRTY, TAG_SNAPSHOTS

__all__ = ["write_ci_report"]

_SHOWN = ("mae", "rmse", "smape", "rmae", "pinball_q50", "coverage_80", "battery_capture")
_HIGHER_IS_BETTER = {"battery_capture", "battery_revenue"}


def _fmt(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.4g}"


def _row(metric: str, cand: float | None, base: float | None) -> str:
    diff = "–"
    if cand is not None and base is not None and not math.isnan(cand) and not math.isnan(base):
        delta = cand - base
        rel = delta / abs(base) if base else math.nan
        better = delta > 0 if metric in _HIGHER_IS_BETTER else delta < 0
        if metric == "coverage_80":
            better = abs(cand - 0.8) < abs(base - 0.8)
        mark = "" if delta == 0 else (" ✅" if better else " ⚠️")
        diff = f"{delta:+.4g} ({100 * rel:+.1f}%){mark}"
    return f"| {metric} | {_fmt(cand)} | {_fmt(base)} | {diff} |"


def _metric_plot(path: Path, metrics: dict[str, dict[str, float]], labels: list[str]) -> None:
    from matplotlib.figure import Figure

    shown = [m for m in _SHOWN if all(metric_key(m) in metrics[lab] for lab in labels)]
    fig = Figure(figsize=(8, 3), dpi=90)
    ax = fig.add_subplot()
    width = 0.8 / max(len(labels), 1)
    for i, label in enumerate(labels):
        values = [metrics[label].get(metric_key(m), math.nan) for m in shown]
        ax.bar([x + i * width for x in range(len(shown))], values, width=width, label=label)
    ax.set_xticks([x + width * (len(labels) - 1) / 2 for x in range(len(shown))], shown, fontsize=8)
    ax.set_title("backtest metrics", fontsize=9)
    ax.legend(fontsize=8)
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.15, top=0.9)
    fig.savefig(path)


def _run_plot(registry: Registry, run_id: str, out_dir: Path, label: str) -> str | None:
    try:
        local = registry.client.download_artifacts(
            run_id, "plots/forecast_vs_actual.png", str(out_dir)
        )
    except Exception:  # an older run without plots: the report says so instead
        return None
    target = out_dir / f"forecast_{label}.png"
    shutil.move(local, target)
    return target.name


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
        f"{100 * policy.min_margin:.1f}%, checks required: {policy.require_checks}, "
        f"same window: {policy.same_window}.",
        "",
    ]
    runs: dict[str, Any] = {}
    for label, version in (("candidate", decision.candidate), ("baseline", decision.against)):
        if version is not None:
            runs[label] = registry.run_of(model, version)
    cand = runs.get("candidate")
    base = runs.get("baseline")
    if cand is not None:
        lines += ["| metric | candidate | baseline | difference |", "| --- | ---: | ---: | --- |"]
        for metric in _SHOWN:
            key = metric_key(metric)
            lines.append(
                _row(
                    metric,
                    cand.data.metrics.get(key),
                    base.data.metrics.get(key) if base is not None else None,
                )
            )
        lines += ["", "## Lineage", "", "| | candidate | baseline |", "| --- | --- | --- |"]
        for tag, label in (
            (TAG_SNAPSHOTS, "snapshots"),
            (TAG_CHECKS_PASSED, "checks passed"),
            (TAG_GIT_COMMIT, "git commit"),
            (TAG_GIT_DIRTY, "dirty tree"),
            ("helio.backtest.window", "backtest window"),
            ("helio.model", "model"),
        ):
            lines.append(
                f"| {label} | {cand.data.tags.get(tag, '–')} | "
                f"{base.data.tags.get(tag, '–') if base is not None else '–'} |"
            )
        metrics = {f"v{decision.candidate}": dict(cand.data.metrics)}
        if base is not None:
            metrics[f"v{decision.against}"] = dict(base.data.metrics)
        _metric_plot(out_dir / "metrics.png", metrics, list(metrics))
        lines += ["", "## Plots", "", "![backtest metrics](metrics.png)", ""]
        for label, run in runs.items():
            name = _run_plot(registry, run.info.run_id, out_dir, label)
            lines.append(
                f"![{label} forecast vs actual]({name})"
                if name
                else f"({label}: no forecast plot in its run)"
            )
            lines.append("")
    path = out_dir / "report.md"
    atomic_write(path, "\n".join(lines) + "\n")
    return decision, path
