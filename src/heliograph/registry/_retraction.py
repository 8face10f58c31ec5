"""Retracting data: the lake's record, the ledger's event, and who is told.

``retract_data`` marks a snapshot or a partition bad in the lake (``heliograph.lake.retract``:
nothing is rewritten), records a ``snapshot_retracted`` event with the actor and the reason,
and returns what depended on it: the runs, the versions (with the aliases they hold) and the
number of predictions they made. The next training leaves the retracted partitions out.

Example::

    retraction, usage = retract_data(project, "energy_prices@3f9c0a1b2d4e", reason="bad feed")
    [(v.version, v.aliases) for v in usage.versions], usage.predictions
"""

from __future__ import annotations

from heliograph.core import Project
from heliograph.lake import Retraction, open_lake, retract
from heliograph.ledger import Ledger

from ._lineage import DataUsage, usage_of
from ._registry import _who

__all__ = ["retract_data"]


def retract_data(
    project: Project, target: str, *, reason: str, actor: str | None = None, mlflow: bool = True
) -> tuple[Retraction, DataUsage]:
    """Retract ``target`` (a snapshot id or ``dataset/date=…``); record it; say who used it."""
    lake = open_lake(project)
    usage = usage_of(
        project, target, mlflow=mlflow, argument="SNAPSHOT"
    )  # an unknown target fails before a write
    who = _who(actor)
    retraction = retract(lake, target, reason=reason, actor=who)
    Ledger(project.ledger_url).record(
        "snapshot_retracted",
        target,
        reason.strip(),
        actor=who,
        details={
            "partitions": list(retraction.partitions),
            "snapshots": usage.snapshots,
            "runs": usage.runs,
            "versions": [
                {"model": v.model, "version": v.version, "aliases": v.aliases}
                for v in usage.versions
            ],
            "predictions": usage.predictions,
        },
    )
    return retraction, usage
