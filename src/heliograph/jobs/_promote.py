"""The ``promote`` job: a challenger replaces the champion only on live evidence.

For each registered model with a ``challenger``:

- no champion yet: the registry's policy decides on the backtest alone (the first champion);
- otherwise, once the challenger has shadowed ``[monitoring] min_shadow_hours``, the two are
  compared on the same live ledger window (``heliograph.monitoring.live_evidence``, the
  project's ``LivePolicy``: the ``[policy]`` metric, direction, margin and p99 latency
  gate; then ``serving_gates``: the challenger's artefact size and, when all else accepts,
  the memory serving it takes, against ``max_artifact_mb`` / ``max_memory_mb``): the
  verdict is an event
  ``live_verdict``; refused, the reasons stay in the event. Accepted, the registry promotes
  with ``live=True``: the challenger won on the live window, so its backtest need not show it
  better too; only a backtest clearly worse (by more than ``[policy] min_margin``) or training
  data that failed its checks still blocks. The registry's verdict on the backtest is in the
  event (``details["backtest"]``: accepted, change, reasons), and the registry records every
  alias move, or the refusal with its reasons.

While the challenger shadows (less than the minimum shadow period, or fewer than
``[monitoring] min_judged`` questions both versions answered have an actual yet), nothing is
decided and nothing recorded: a refusal is on enough evidence, never for the lack of it. A
run for a scheduled time that already decided on a challenger decides nothing again.

Example::

    run_job(project, "promote").summary()
    # 'meter-load: v2 promoted over v1 (live mae 3 vs 6 ...)'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from heliograph.core import App, Project, load_apps
from heliograph.ledger import Ledger, read_predictions
from heliograph.monitoring import (
    LivePolicy,
    LiveVerdict,
    app_business_metrics,
    live_evidence,
    serving_gates,
)
from heliograph.registry import CHALLENGER, CHAMPION, Registry
from heliograph.serving import serving_memory_mb

from ._job import job

__all__ = ["PromoteOutcome", "promote", "promote_on_evidence"]

_EVENT = "live_verdict"


@dataclass
class PromoteOutcome:
    """One line per model with a challenger: what was decided, or why nothing was."""

    decisions: dict[str, str] = field(default_factory=dict)
    promoted: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the job's run."""
        if not self.decisions:
            return "no challenger"
        return "; ".join(f"{m}: {d}" for m, d in self.decisions.items())


def _decided(ledger: Ledger, name: str, challenger: str, now: datetime) -> bool:
    return any(
        e.details.get("scheduled_for") == now.isoformat()
        and e.details.get("challenger") == challenger
        for e in ledger.events(kind=_EVENT, subject=f"model/{name}", limit=50)
    )


def _verdict(
    registry: Registry,
    service: str,
    name: str,
    champion: str,
    challenger: str,
    apps: Sequence[App],
) -> LiveVerdict:
    project = registry.project
    now = project.clock().now()
    business = app_business_metrics(apps).get(service)
    policy = LivePolicy.of(project.settings, business)
    verdict = live_evidence(
        project.ledger_url,
        service,
        name,
        champion=champion,
        challenger=challenger,
        since=now - timedelta(hours=max(project.settings.monitoring.windows_hours)),
        until=now,
        policy=policy,
    )
    if verdict.shadow_hours < policy.min_shadow_hours or verdict.judged < policy.min_judged:
        return verdict  # still shadowing: nothing is decided, nothing measured
    return serving_gates(
        verdict,
        policy,
        artifact_mb=lambda: registry.artifact_bytes(name, challenger) / 2**20,
        memory_mb=lambda: serving_memory_mb(project, name, challenger),
    )


def _decide(
    project: Project, registry: Registry, name: str, apps: Sequence[App]
) -> tuple[str, bool]:
    """What happened to ``name``'s challenger, and whether it was promoted."""
    now = project.clock().now()
    roles = registry.aliases(name)
    challenger, champion = roles[CHALLENGER], roles.get(CHAMPION)
    if champion is None:
        decision = registry.promote(name, reason="the first champion (no live evidence yet)")
        if decision.accepted:
            return f"v{challenger} is the first champion", True
        return f"v{challenger} refused: {'; '.join(decision.reasons)}", False
    if _decided(registry.ledger, name, challenger, now):
        return f"v{challenger} already decided for {now:%Y-%m-%d %H:%M} UTC", False
    shadowing = read_predictions(project.ledger_url, model_name=name, role=CHALLENGER, limit=1)
    if not shadowing:
        return f"v{challenger} has not shadowed yet", False
    verdict = _verdict(registry, shadowing[0].service, name, champion, challenger, apps)
    needed, judged = (
        project.settings.monitoring.min_shadow_hours,
        project.settings.monitoring.min_judged,
    )
    if verdict.shadow_hours < needed or verdict.judged < judged:
        return (
            f"v{challenger} shadowing ({verdict.shadow_hours:.1f} h of {needed:g} h, "
            f"{verdict.judged} of {judged} shared questions judged)"
        ), False
    backtest = registry.evaluate(name, live=True) if verdict.accepted else None
    blocked = backtest is not None and not backtest.accepted
    said = ("accepted: " if verdict.accepted else "refused: ") + "; ".join(verdict.reasons)
    if backtest is not None:
        said += ("; blocked by the backtest: " if blocked else "; backtest: ") + "; ".join(
            backtest.reasons
        )
    registry.ledger.record(
        _EVENT,
        f"model/{name}",
        said,
        details={
            "scheduled_for": now.isoformat(),
            "challenger": challenger,
            "champion": champion,
            "accepted": verdict.accepted,
            "metric": verdict.metric,
            "challenger_value": verdict.challenger_value,
            "champion_value": verdict.champion_value,
            "judged": verdict.judged,
            "p99_ms": None if math.isnan(verdict.p99_ms) else verdict.p99_ms,
            "artifact_mb": None if math.isnan(verdict.artifact_mb) else verdict.artifact_mb,
            "memory_mb": None if math.isnan(verdict.memory_mb) else verdict.memory_mb,
            "reasons": verdict.reasons,
            "blocked_by_backtest": blocked,
            "backtest": None
            if backtest is None
            else {
                "accepted": backtest.accepted,
                "change": None if math.isnan(backtest.change) else backtest.change,
                "window": backtest.window,
                "reasons": backtest.reasons,
            },
        },
    )
    if not verdict.accepted:
        return f"v{challenger} refused on live evidence: {'; '.join(verdict.reasons)}", False
    decision = registry.promote(name, reason=f"live evidence: {verdict.reasons[-1]}", live=True)
    if decision.accepted:
        return f"v{challenger} promoted over v{champion} ({verdict.reasons[-1]})", True
    return f"v{challenger} better live, refused by the policy: {'; '.join(decision.reasons)}", False


def promote_on_evidence(project: Project, apps: Sequence[App]) -> PromoteOutcome:
    """Decide on every challenger (see the module)."""
    registry = Registry(project)
    outcome = PromoteOutcome()
    for name in registry.models():
        if CHALLENGER not in registry.aliases(name):
            continue
        outcome.decisions[name], promoted = _decide(project, registry, name, apps)
        if promoted:
            outcome.promoted.append(name)
    return outcome


@job(
    "promote",
    "promote a challenger that beat the champion on the same live window",
    schedule="0 * * * *",
    catch_up="latest",  # a decision is on the evidence up to now: older looks add nothing
    retries=1,
    after=("monitor", "retrain"),
)
def promote(project: Project) -> PromoteOutcome:
    """Decide on every challenger (see the module)."""
    return promote_on_evidence(project, load_apps())
