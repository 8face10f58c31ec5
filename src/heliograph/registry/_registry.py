"""Roles by registry alias, promotion by policy, rollback, and the history MLflow doesn't keep.

A registered model's versions take roles through MLflow aliases: ``champion`` serves,
``challenger`` shadows, ``previous`` is the rollback target. A new version becomes the
challenger. ``promote`` applies the project's policy and moves ``champion`` (the old champion
becomes ``previous``) or refuses with the reasons; ``rollback`` gives ``champion`` back to
``previous``. A person can override a refusal with ``force=True`` and a reason (the sign-off a
team gives by hand). Every alias move, every refusal and every override is an event in the
ledger with who, why and when, since MLflow keeps no history of aliases.

A comparison has one sign convention everywhere: the *change* is ``(candidate − baseline) /
|baseline|``, so +5 % means the candidate's value is 5 % higher, whatever the metric's direction;
words (better, worse) say which way is good.

Example::

    registry = Registry(project)
    decision = registry.promote("model-a", reason="weekly retrain")
    decision.accepted
    # False
    decision.reasons[0]  # one line; wrapped here
    # 'not better enough: challenger mae 4.31 vs champion 4.12 on 2025-05-18..2025-05-31:
    #  +4.61%, worse (the policy needs lower by more than 2.00%)'
"""

from __future__ import annotations

import getpass
import math
from dataclasses import dataclass, field
from typing import Any

from heliograph.core import HelioError, PolicySettings, Project
from heliograph.ledger import Event, Ledger
from heliograph.tracking import TAG_CHECKS_PASSED, mlflow_client

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "PREDICTIONS_ARTIFACT",
    "PREVIOUS",
    "REFERENCE_ARTIFACT",
    "TAG_METRICS",
    "TAG_PREDICTIONS",
    "TAG_RESCORES",
    "TAG_WINDOW",
    "Decision",
    "Registry",
    "RegistryError",
    "format_change",
    "metric_key",
    "relative_change",
]

CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous"
TAG_WINDOW = "helio.backtest.window"
TAG_RESCORES = "helio.rescores"  # on a run that scored a registered version on a new window
PREDICTIONS_ARTIFACT = "backtest/predictions.parquet"
"""Where a training run logs its backtest predictions (described by ``TAG_PREDICTIONS``)."""
REFERENCE_ARTIFACT = "monitoring/reference.parquet"
"""Where a training run logs a sample of its feature rows and its predictions (``prediction``):
the reference monitoring compares a version's live data with, for drift."""
TAG_METRICS = "helio.metrics"
"""JSON ``{metric: {"unit": "…", "better": "lower" | "higher" | target}}``: what the run's
``backtest_<metric>`` values mean, in the order a report shows them (set by the app's training)."""
TAG_PREDICTIONS = "helio.predictions"
"""JSON ``{"path": artefact, "time": col, "actual": col, "forecast": col, "low": col, "high": col,
"unit": "…"}``: the run's backtest predictions, logged as a Parquet artefact."""


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _who(actor: str | None) -> str:
    """The actor an event records: the OS user, and the person named by ``actor`` if any."""
    user = _os_user()
    if not actor or actor == user:
        return user
    return f"{actor} (OS user {user})"[:128]


class RegistryError(HelioError):
    """The registry cannot do what was asked: an unknown model, version or alias."""


def metric_key(metric: str) -> str:
    """The MLflow metric under which a backtest metric is logged."""
    return f"backtest_{metric}"


def relative_change(candidate: float, baseline: float) -> float:
    """``(candidate − baseline) / |baseline|``: the one sign convention of every comparison."""
    return (candidate - baseline) / max(abs(baseline), 1e-12)


def format_change(change: float) -> str:
    """A relative change as the verdict and the reports print it: ``+4.61%``."""
    return "–" if math.isnan(change) else f"{100 * change:+.2f}%"


@dataclass
class Decision:
    """The policy's verdict on a candidate version against the holder of a role.

    ``candidate_run`` and ``baseline_run`` are the MLflow runs whose metrics were compared:
    for the baseline, its own training run when it was backtested on ``window``, else the run
    that re-scored it on the candidate's window (tagged ``helio.rescores``). A report shows
    those two runs and nothing else.
    """

    model: str
    candidate: str | None
    against: str | None
    accepted: bool
    reasons: list[str] = field(default_factory=list)
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    candidate_run: str | None = None
    baseline_run: str | None = None
    window: str | None = None
    metric: str = ""
    change: float = math.nan
    forced: bool = False


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

    def artifact_bytes(self, name: str, version: str) -> int:
        """The size of ``version``'s model artefacts: the sum of its files' sizes, as the
        artefact store lists them (MLflow's repository listing, recursive; no download).

        Example: ``registry.artifact_bytes("energy-price-GB", "3") / 1e6`` (MB)."""
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        self._model(name)
        folders: list[str | None]
        repository = get_artifact_repository(
            self.client.get_model_version_download_uri(name, version)
        )
        total, folders = 0, [None]
        while folders:
            for item in repository.list_artifacts(folders.pop()):
                if item.is_dir:
                    folders.append(item.path)
                else:
                    total += int(item.file_size or 0)
        return total

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
        run_id = str(created.run_id or "")
        tags = self.client.get_run(run_id).data.tags if run_id else {}
        lineage = {k: v for k, v in tags.items() if k.startswith("helio.")}
        self.ledger.record(  # the run and its lineage tags: lineage from the ledger alone
            "model_registered",
            f"model/{name}",
            f"version {version}: {reason}",
            details={"version": version, "uri": model_uri, "run_id": run_id, "tags": lineage},
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
        live: bool = False,
    ) -> Decision:
        """Would the policy promote ``candidate`` (alias or version) over ``against``?

        ``live=True``: the candidate already beat ``against`` on the same live window (the
        ``promote`` job's verdict), so the backtest no longer has to show it better: it
        blocks only when it is clearly worse, by more than the policy's ``min_margin``. A
        backtest equal within the margin, or one that cannot be compared (windows differ,
        a metric missing), is recorded among the reasons and leaves the decision to the
        live evidence; the data checks still gate."""
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
        decision.candidate_run = cand_run.info.run_id
        decision.window = cand_run.data.tags.get(TAG_WINDOW)
        decision.metric = policy.metric
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
        decision.baseline_run = base_run.info.run_id
        if policy.same_window:
            a, b = cand_run.data.tags.get(TAG_WINDOW), base_run.data.tags.get(TAG_WINDOW)
            if a != b:
                rescore = self.rescore_of(name, against_version, a, cand_run.info.experiment_id)
                if rescore is None:
                    decision.baseline_run = None  # nothing comparable to show
                    decision.reasons.append(
                        f"not comparable: backtest windows differ ({a} vs {b}) and version "
                        f"{against_version} was not scored on {a}"
                    )
                else:  # the champion's own model, scored on the candidate's window
                    base_value = rescore.data.metrics.get(key)
                    decision.metrics[f"v{against_version}"] = dict(rescore.data.metrics)
                    decision.baseline_run = rescore.info.run_id
        if base_value is None or math.isnan(base_value):
            decision.reasons.append(f"{against} version {against_version} has no {key}")
        if (
            live
            and decision.reasons
            and (not policy.require_checks or cand_run.data.tags.get(TAG_CHECKS_PASSED) == "true")
        ):  # only the backtest comparison is missing: the live evidence decides
            decision.accepted = True
            decision.reasons = [
                f"backtest not compared ({r}): the live evidence decides" for r in decision.reasons
            ]
            return decision
        if decision.reasons:
            return decision
        assert cand_value is not None and base_value is not None
        change = relative_change(cand_value, base_value)
        decision.change = change
        improvement = -change if policy.direction == "minimize" else change
        lower = "lower" if policy.direction == "minimize" else "higher"
        word = "better" if improvement > 0 else ("worse" if improvement < 0 else "equal")
        window = f" on {decision.window}" if decision.window else ""
        verdict = (
            f"{candidate} {policy.metric} {cand_value:.4g} vs {against} {base_value:.4g}{window}: "
            f"{format_change(change)}, {word} (the policy needs {lower} by more than "
            f"{100 * policy.min_margin:.2f}%)"
        )
        if live:  # better on live evidence: only a backtest clearly worse blocks
            decision.accepted = improvement >= -policy.min_margin
            decision.reasons.append(
                f"backtest {verdict}; not worse by more than the margin: the live evidence decides"
                if decision.accepted
                else f"backtest clearly worse, by more than the policy's margin: {verdict}"
            )
            return decision
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
        force: bool = False,
        live: bool = False,
    ) -> Decision:
        """Move ``champion`` to the challenger if the policy says so; record the decision.

        ``force=True`` overrides a refusal by the policy (never a missing challenger), and
        needs a ``reason``: the event ``promotion_forced`` keeps it with the overridden reasons
        and who gave it (``actor`` and the OS user). ``live=True``: the candidate won on live
        evidence, and the backtest gates as ``evaluate(live=True)`` says.
        """
        if force and not reason.strip():
            raise RegistryError(
                "a forced promotion needs a reason",
                field="reason",
                rule="say why the policy is overridden (--force needs --reason)",
            )
        actor = _who(actor)
        decision = self.evaluate(name, policy=policy, live=live)
        possible = decision.candidate is not None and decision.candidate != decision.against
        if force and not decision.accepted and possible:
            overridden = list(decision.reasons)
            decision.accepted = decision.forced = True
            decision.reasons = [f"forced by {actor}: {reason}", *overridden]
            self.ledger.record(
                "promotion_forced",
                f"model/{name}",
                f"v{decision.candidate} over the policy: {reason} (overrode: "
                + "; ".join(overridden)
                + ")",
                actor=actor,
                details={
                    "candidate": decision.candidate,
                    "champion": decision.against,
                    "reason": reason,
                    "overridden": overridden,
                    "os_user": _os_user(),
                },
            )
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
        if decision.forced:
            why = f"forced: {reason}"
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
        actor = _who(actor)
        back, current = roles[PREVIOUS], roles.get(CHAMPION)
        self._move(name, CHAMPION, back, reason, actor)
        self._move(name, PREVIOUS, current, f"rolled back from: {reason}", actor)
        return back

    def history(self, name: str, limit: int = 200) -> list[Event]:
        """Every registration, alias move and refusal for ``name``, newest first."""
        self._model(name)
        return self.ledger.events(subject=f"model/{name}", limit=limit)
