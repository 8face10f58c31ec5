"""Roles by registry alias, promotion by policy, rollback, and the history MLflow doesn't keep.

A registered model's versions take roles through MLflow aliases: ``champion`` serves,
``challenger`` shadows, ``previous`` is the rollback target. A new version becomes the
challenger. ``promote`` applies the project's policy and moves ``champion`` (the old champion
becomes ``previous``) or refuses with the reasons; ``rollback`` gives ``champion`` back to
``previous``. Every alias move, and every refusal, is an event in the ledger with who, why and
when, since MLflow keeps no history of aliases.

>>> registry = Registry(project)
>>> decision = registry.promote("energy-price-GB", reason="weekly retrain")
>>> decision.accepted, decision.reasons
(False, ['challenger mae 4.31 is not better than champion mae 4.12 by 2%'])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from heliograph.core import HelioError, PolicySettings, Project
from heliograph.ledger import Event, Ledger
from heliograph.tracking import TAG_CHECKS_PASSED, mlflow_client

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "PREVIOUS",
    "TAG_RESCORES",
    "TAG_WINDOW",
    "Decision",
    "Registry",
    "RegistryError",
    "metric_key",
]

CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous"
TAG_WINDOW = "helio.backtest.window"
TAG_RESCORES = "helio.rescores"  # on a run that scored a registered version on a new window


class RegistryError(HelioError):
    """The registry cannot do what was asked: an unknown model, version or alias."""


def metric_key(metric: str) -> str:
    """The MLflow metric under which a backtest metric is logged."""
    return f"backtest_{metric}"


@dataclass
class Decision:
    """The policy's verdict on a candidate version against the holder of a role."""

    model: str
    candidate: str | None
    against: str | None
    accepted: bool
    reasons: list[str] = field(default_factory=list)
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)


class Registry:
    """The project's MLflow model registry, with roles, policy and history."""

    def __init__(self, project: Project, ledger: Ledger | None = None) -> None:
        self.project = project
        self.client = mlflow_client(project)
        self.ledger = ledger or Ledger(project.ledger_url)

    # -- reading -----------------------------------------------------------------------------
    def _model(self, name: str) -> Any:
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_registered_model(name)
        except MlflowException:
            known = ", ".join(m.name for m in self.client.search_registered_models()) or "none"
            raise RegistryError(
                f"unknown model {name!r}", field="model", rule=f"a registered model ({known})"
            ) from None

    def models(self) -> list[str]:
        return sorted(m.name for m in self.client.search_registered_models())

    def aliases(self, name: str) -> dict[str, str]:
        """``{alias: version}`` of a model."""
        return {alias: str(v) for alias, v in self._model(name).aliases.items()}

    def version_of(self, name: str, role: str) -> str | None:
        return self.aliases(name).get(role)

    def rescore_of(self, name: str, version: str, window: str | None, experiment_id: str) -> Any:
        """The run that scored ``version`` of ``name`` on ``window``, if one was made."""
        if window is None:
            return None
        runs = self.client.search_runs(
            [experiment_id],
            filter_string=f"tags.`{TAG_RESCORES}` = '{name}/{version}' and "
            f"tags.`{TAG_WINDOW}` = '{window}'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        return runs[0] if runs else None

    def run_of(self, name: str, version: str) -> Any:
        model_version = self.client.get_model_version(name, version)
        return self.client.get_run(model_version.run_id)

    # -- writing -----------------------------------------------------------------------------
    def _move(
        self, name: str, alias: str, version: str | None, reason: str, actor: str | None
    ) -> None:
        before = self.version_of(name, alias)
        if version is None:
            if before is not None:
                self.client.delete_registered_model_alias(name, alias)
        else:
            self.client.set_registered_model_alias(name, alias, version)
        if before != version:
            self.ledger.record(
                "alias_moved",
                f"model/{name}",
                f"{alias}: {before or '-'} → {version or '-'}: {reason}",
                details={"alias": alias, "from": before, "to": version},
                actor=actor,
            )

    def register(self, name: str, model_uri: str, *, reason: str, actor: str | None = None) -> str:
        """Register ``model_uri`` as a new version of ``name``; it becomes the challenger."""
        import mlflow

        mlflow.set_registry_uri(self.project.tracking_uri)
        mlflow.set_tracking_uri(self.project.tracking_uri)
        created = mlflow.register_model(model_uri, name)
        version = str(created.version)
        self.ledger.record(
            "model_registered",
            f"model/{name}",
            f"version {version}: {reason}",
            details={"version": version, "uri": model_uri},
            actor=actor,
        )
        self._move(name, CHALLENGER, version, reason, actor)
        return version

    def evaluate(
        self,
        name: str,
        *,
        candidate: str = CHALLENGER,
        against: str = CHAMPION,
        policy: PolicySettings | None = None,
    ) -> Decision:
        """Would the policy promote ``candidate`` (alias or version) over ``against``?"""
        policy = policy or self.project.settings.policy
        roles = self.aliases(name)
        cand_version = roles.get(candidate, candidate if candidate.isdigit() else None)
        against_version = roles.get(against, against if against.isdigit() else None)
        decision = Decision(name, cand_version, against_version, accepted=False)
        if cand_version is None:
            decision.reasons.append(f"{name} has no {candidate}")
            return decision
        key = metric_key(policy.metric)
        cand_run = self.run_of(name, cand_version)
        cand_value = cand_run.data.metrics.get(key)
        decision.metrics[f"v{cand_version}"] = dict(cand_run.data.metrics)
        if cand_value is None or math.isnan(cand_value):
            logged = sorted(
                k.removeprefix(metric_key(""))
                for k in cand_run.data.metrics
                if k != key
                if k.startswith(metric_key(""))
            )
            hint = (
                f"; [policy] metric {policy.metric!r} is not one it logged: {', '.join(logged)}"
                if cand_value is None and logged
                else ""
            )
            decision.reasons.append(f"version {cand_version} has no {key} to compare{hint}")
        if policy.require_checks and cand_run.data.tags.get(TAG_CHECKS_PASSED) != "true":
            decision.reasons.append(
                f"version {cand_version}'s training data did not pass its checks"
            )
        if against_version is None:
            if not decision.reasons:
                decision.accepted = True
                decision.reasons.append(f"no {against} yet: version {cand_version} takes the role")
            return decision
        if against_version == cand_version:
            decision.reasons.append(f"version {cand_version} already is the {against}")
            return decision
        base_run = self.run_of(name, against_version)
        base_value = base_run.data.metrics.get(key)
        decision.metrics[f"v{against_version}"] = dict(base_run.data.metrics)
        if policy.same_window:
            a, b = cand_run.data.tags.get(TAG_WINDOW), base_run.data.tags.get(TAG_WINDOW)
            if a != b:
                rescore = self.rescore_of(name, against_version, a, cand_run.info.experiment_id)
                if rescore is None:
                    decision.reasons.append(
                        f"not comparable: backtest windows differ ({a} vs {b}) and version "
                        f"{against_version} was not scored on {a}"
                    )
                else:  # the champion's own model, scored on the candidate's window
                    base_value = rescore.data.metrics.get(key)
                    decision.metrics[f"v{against_version}"] = dict(rescore.data.metrics)
        if base_value is None or math.isnan(base_value):
            decision.reasons.append(f"{against} version {against_version} has no {key}")
        if decision.reasons:
            return decision
        assert cand_value is not None and base_value is not None
        sign = 1 if policy.direction == "minimize" else -1
        improvement = sign * (base_value - cand_value) / max(abs(base_value), 1e-12)
        verdict = (
            f"{candidate} {policy.metric} {cand_value:.4g} vs {against} "
            f"{base_value:.4g}: {100 * improvement:+.2f}% "
            f"(required {100 * policy.min_margin:+.2f}%, {policy.direction})"
        )
        if improvement > policy.min_margin or (
            policy.min_margin == 0 and improvement >= 0 and cand_value != base_value
        ):
            decision.accepted = True
        decision.reasons.append(verdict if decision.accepted else f"not better enough: {verdict}")
        return decision

    def promote(
        self,
        name: str,
        *,
        reason: str = "",
        actor: str | None = None,
        policy: PolicySettings | None = None,
    ) -> Decision:
        """Move ``champion`` to the challenger if the policy says so; record the decision."""
        decision = self.evaluate(name, policy=policy)
        if not decision.accepted:
            self.ledger.record(
                "promotion_refused",
                f"model/{name}",
                "; ".join(decision.reasons) + (f" (asked: {reason})" if reason else ""),
                actor=actor,
                details={
                    "candidate": decision.candidate,
                    "champion": decision.against,
                    "reason": reason,
                },
            )
            return decision
        why = reason or "; ".join(decision.reasons)
        if decision.against is not None:
            self._move(
                name, PREVIOUS, decision.against, f"replaced by v{decision.candidate}", actor
            )
        self._move(name, CHAMPION, decision.candidate, why, actor)
        self._move(name, CHALLENGER, None, f"promoted to champion: {why}", actor)
        return decision

    def rollback(self, name: str, *, reason: str = "rollback", actor: str | None = None) -> str:
        """Give ``champion`` back to ``previous`` (which then holds the replaced version)."""
        roles = self.aliases(name)
        if PREVIOUS not in roles:
            raise RegistryError(
                f"{name} has no previous version to roll back to",
                field="alias previous",
                rule="a promotion happened before",
            )
        back, current = roles[PREVIOUS], roles.get(CHAMPION)
        self._move(name, CHAMPION, back, reason, actor)
        self._move(name, PREVIOUS, current, f"rolled back from: {reason}", actor)
        return back

    def history(self, name: str, limit: int = 200) -> list[Event]:
        """Every registration, alias move and refusal for ``name``, newest first."""
        self._model(name)
        return self.ledger.events(subject=f"model/{name}", limit=limit)
