"""Live evidence for promotion: the challenger against the champion on the same ledger window.

Only questions both answered count: a champion prediction and a challenger prediction are a
pair when they answered the same question (same ``as_of``) for the same target time, and the
pair is judged once that target has an actual. The verdict accepts the challenger when

- it has shadowed at least ``min_shadow_hours`` (from its first prediction in the ledger
  window read, so never more than it really has),
- at least ``min_judged`` pairs are judged,
- its metric over the pairs beats the champion's by more than ``min_margin`` (relative, in
  the policy's ``direction``; the sign convention of ``heliograph.registry``'s verdict),
- and, when ``max_p99_ms`` is set, its answers' 99th-percentile latency in the window (what
  serving it would cost, as the ledger recorded its shadow answers) is within it,
- and, when ``max_artifact_mb`` / ``max_memory_mb`` are set, its model artefacts' size and
  the memory serving it takes are within them (``serving_gates``: the size is read from the
  artefact store; the memory, seconds of loading in a child process, only for a verdict that
  would otherwise accept),

and otherwise refuses, with every reason that applies. The rules are one value,
``LivePolicy`` (``LivePolicy.of(project.settings)`` reads them from ``[policy]`` and
``[monitoring]``). The ``promote`` job calls ``live_evidence`` (the ledger window) or
``compare_live`` (a frame already read), then ``serving_gates``.

Example::

    policy = LivePolicy(min_margin=0.02, min_shadow_hours=24)
    verdict = live_evidence(url, "price-forecast", "energy-price-GB", champion="3",
                            challenger="4", since=now - timedelta(days=7), until=now,
                            policy=policy)
    verdict.accepted, verdict.reasons
    # (False, ['shadowed 20.5 h, the policy needs 24 h'])
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from heliograph.core import HelioError, Settings, UsageError, as_utc
from heliograph.ledger import judged_predictions, prediction_latencies
from heliograph.registry import CHALLENGER, CHAMPION, format_change, relative_change

from ._business import BusinessMetric
from ._performance import performance

__all__ = ["LivePolicy", "LiveVerdict", "compare_live", "live_evidence", "serving_gates"]

_PAIR = ["as_of", "target_time"]


@dataclass(frozen=True)
class LivePolicy:
    """The rules a challenger's live evidence is judged by (see the module).

    ``metric`` is a live metric (``mae``, ``rmse``, ``pinball``, ``pinball_p50``, ...,
    ``coverage_gap`` judged by its size) or the name of the service's ``business`` metric;
    ``max_p99_ms``, ``max_artifact_mb`` and ``max_memory_mb`` 0 mean no such gate.
    """

    metric: str = "mae"
    direction: str = "minimize"
    min_margin: float = 0.0
    min_shadow_hours: float = 24.0
    min_judged: int = 48
    max_p99_ms: float = 0.0
    max_artifact_mb: float = 0.0
    max_memory_mb: float = 0.0
    business: BusinessMetric | None = None

    def __post_init__(self) -> None:
        if self.direction not in ("minimize", "maximize"):
            raise UsageError(
                f"direction {self.direction!r}", field="direction", rule="minimize or maximize"
            )

    @classmethod
    def of(cls, settings: Settings, business: BusinessMetric | None = None) -> LivePolicy:
        """The project's rules: metric, direction, margin and the p99, artefact-size and
        memory gates from ``[policy]``,
        shadow period and judged count from ``[monitoring]``; ``business`` is used only when
        the policy's metric names it."""
        policy, monitoring = settings.policy, settings.monitoring
        return cls(
            metric=policy.metric,
            direction=policy.direction,
            min_margin=policy.min_margin,
            min_shadow_hours=monitoring.min_shadow_hours,
            min_judged=monitoring.min_judged,
            max_p99_ms=policy.max_p99_ms,
            max_artifact_mb=policy.max_artifact_mb,
            max_memory_mb=policy.max_memory_mb,
            business=business if business is not None and business.name == policy.metric else None,
        )


@dataclass
class LiveVerdict:
    """The live comparison of ``challenger`` with ``champion`` (versions of ``model``)."""

    model: str
    champion: str
    challenger: str
    accepted: bool
    metric: str
    reasons: list[str] = field(default_factory=list)
    champion_value: float = math.nan
    challenger_value: float = math.nan
    change: float = math.nan
    judged: int = 0
    shadow_hours: float = 0.0
    p99_ms: float = math.nan  # the challenger's answers' p99 latency, when the policy gates it
    artifact_mb: float = math.nan  # the challenger's model artefacts, when the policy gates them
    memory_mb: float = math.nan  # the memory serving the challenger takes, when measured


def _side(judged: pd.DataFrame, model: str, version: str, role: str) -> pd.DataFrame:
    rows = judged[
        (judged["model_name"] == model)
        & (judged["model_version"].astype(str) == version)
        & (judged["role"] == role)
    ]
    return rows.drop_duplicates(_PAIR, keep="last")


def compare_live(
    judged: pd.DataFrame,
    *,
    model: str,
    champion: str,
    challenger: str,
    until: datetime,
    policy: LivePolicy = LivePolicy(),
    point: str = "p50",
    latencies: np.ndarray | None = None,
) -> LiveVerdict:
    """The verdict on ``judged`` (``heliograph.ledger.judged_predictions``' frame) by
    ``policy``; ``latencies`` are the challenger's answer times in milliseconds (for the
    policy's p99 gate; None: not gated)."""
    metric, direction, min_margin = policy.metric, policy.direction, policy.min_margin
    min_shadow_hours, min_judged, business = (
        policy.min_shadow_hours,
        policy.min_judged,
        policy.business,
    )
    verdict = LiveVerdict(model, champion, challenger, False, metric)
    if judged.empty:
        verdict.reasons.append("no predictions of either version in the window")
        return verdict
    ours = _side(judged, model, challenger, CHALLENGER)
    theirs = _side(judged, model, champion, CHAMPION)
    if len(ours):
        verdict.shadow_hours = (as_utc(until) - ours["at"].min()) / timedelta(hours=1)
    both = ours.merge(theirs[[*_PAIR, "actual"]], on=_PAIR, suffixes=("", "_champion"))
    both = both[np.isfinite(both["actual"].to_numpy(dtype="float64"))]
    verdict.judged = len(both)
    if verdict.shadow_hours < min_shadow_hours:
        verdict.reasons.append(
            f"shadowed {verdict.shadow_hours:.1f} h, the policy needs {min_shadow_hours:g} h"
        )
    if policy.max_p99_ms > 0 and latencies is not None and len(latencies):
        verdict.p99_ms = float(np.percentile(latencies, 99))
        if verdict.p99_ms > policy.max_p99_ms:
            verdict.reasons.append(
                f"its answers' p99 latency is {verdict.p99_ms:.1f} ms over {len(latencies)} "
                f"shadow answers, the policy allows {policy.max_p99_ms:g} ms"
            )
    if verdict.judged < min_judged:
        verdict.reasons.append(
            f"{verdict.judged} predictions both versions made have an actual, "
            f"the policy needs {min_judged}"
        )
    if verdict.judged == 0:
        return verdict
    keys = both[_PAIR]
    paired_ours = both
    paired_theirs = theirs.merge(keys, on=_PAIR)
    scores = []
    for rows in (paired_ours, paired_theirs):
        table = performance(
            rows,
            point=point,
            business=business.compute if business else None,
            business_name=business.name if business else "business",
        )
        column = "coverage_gap" if metric == "coverage_gap" else metric
        if metric == "coverage_gap" and "coverage" in table:
            table["coverage_gap"] = (table["coverage"] - table["nominal"]).abs()
        if column not in table or table.empty:
            known = [c for c in table.columns if c not in ("model_name", "model_version", "role")]
            raise UsageError(
                f"live metric {metric!r} is not computed for this service",
                field="policy.metric",
                rule="one of " + ", ".join(known),
            )
        scores.append(float(table[column].iloc[0]))
    verdict.challenger_value, verdict.champion_value = scores
    change = relative_change(*scores)
    verdict.change = change
    improvement = -change if direction == "minimize" else change
    better = "lower" if direction == "minimize" else "higher"
    word = "better" if improvement > 0 else ("worse" if improvement < 0 else "equal")
    text = (
        f"challenger v{challenger} live {metric} {scores[0]:.4g} vs champion v{champion} "
        f"{scores[1]:.4g} on {verdict.judged} shared judged predictions: "
        f"{format_change(change)}, {word} (the policy needs {better} by more than "
        f"{100 * min_margin:.2f}%)"
    )
    good = improvement > min_margin or (min_margin == 0 and improvement > 0)
    if not good:
        verdict.reasons.append(f"not better enough: {text}")
    elif not verdict.reasons:
        verdict.accepted = True
        verdict.reasons.append(text)
    else:
        verdict.reasons.append(text)
    return verdict


def live_evidence(
    url: str,
    service: str,
    model: str,
    *,
    champion: str,
    challenger: str,
    since: datetime,
    until: datetime,
    policy: LivePolicy = LivePolicy(),
) -> LiveVerdict:
    """``compare_live`` over the ledger's predictions of ``model`` with targets in
    ``[since, until)`` (two indexed range reads: predictions and actuals; a third, of the
    challenger's latencies only, when the policy gates its p99)."""
    judged = judged_predictions(url, service, since=since, until=until, model_name=model)
    latencies = None
    if policy.max_p99_ms > 0:
        latencies = prediction_latencies(
            url, model, challenger, CHALLENGER, since=since, until=until
        )
    return compare_live(
        judged,
        model=model,
        champion=champion,
        challenger=challenger,
        until=until,
        policy=policy,
        latencies=latencies,
    )


def _mb(value: float) -> str:
    return f"{value:.1f}" if value >= 10 else f"{value:.3g}"


def _refuse(verdict: LiveVerdict, reason: str) -> None:
    """Refuse ``verdict`` for ``reason``, kept before the metric's comparison (the last)."""
    compared = not math.isnan(verdict.challenger_value)
    verdict.reasons.insert(len(verdict.reasons) - 1 if compared else len(verdict.reasons), reason)
    verdict.accepted = False


def serving_gates(
    verdict: LiveVerdict,
    policy: LivePolicy,
    *,
    artifact_mb: Callable[[], float],
    memory_mb: Callable[[], float],
) -> LiveVerdict:
    """Apply the policy's serving gates to ``verdict`` (in place; returned).

    ``artifact_mb`` gives the challenger's artefact size (``Registry.artifact_bytes``, cheap:
    asked whenever ``max_artifact_mb`` is set); ``memory_mb`` the memory serving it takes
    (``heliograph.serving.serving_memory_mb``: seconds, asked only when ``max_memory_mb`` is
    set and the verdict still accepts). A figure over its limit refuses, with a reason
    naming the figure and the policy key; a measurement that fails (the version does not
    load) refuses with its error."""
    if policy.max_artifact_mb > 0:
        verdict.artifact_mb = float(artifact_mb())
        if verdict.artifact_mb > policy.max_artifact_mb:
            _refuse(
                verdict,
                f"its artefacts are {_mb(verdict.artifact_mb)} MB, the policy allows "
                f"{policy.max_artifact_mb:g} MB (policy.max_artifact_mb)",
            )
    if policy.max_memory_mb > 0 and verdict.accepted:
        try:
            verdict.memory_mb = float(memory_mb())
        except HelioError as exc:
            _refuse(verdict, f"its serving memory could not be measured: {exc.headline}")
            return verdict
        if verdict.memory_mb > policy.max_memory_mb:
            _refuse(
                verdict,
                f"serving it takes {_mb(verdict.memory_mb)} MB of memory, the policy allows "
                f"{policy.max_memory_mb:g} MB (policy.max_memory_mb)",
            )
    return verdict
