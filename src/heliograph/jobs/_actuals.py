"""The ``actuals`` job: the realised values that judge the ledger's predictions.

An app declares, per service, how its actuals are read from the lake (an
:class:`ActualsSource`); the job finds the target times of the service's predictions that
have passed and have no actual yet, asks the source for their values as known at the run's
scheduled time, and records them with ``record_actuals`` (an upsert: a re-run stores nothing
twice).

Example::

    ActualsSource("meter-load", read_meter_load)   # (lake, wanted, now) -> values
    run_job(project, "actuals")
    # ActualsOutcome(wanted=48, recorded=47)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd

from heliograph.core import App, Project, UsageError, load_apps
from heliograph.lake import Lake, open_lake
from heliograph.ledger import Actual, judged_predictions, record_actuals

from ._job import job

__all__ = ["ACTUALS_LOOKBACK", "ActualsOutcome", "ActualsSource", "actuals", "record_realised"]

ACTUALS_LOOKBACK = timedelta(days=7)
"""How far back the job looks for target times still without an actual."""

Reader = Callable[[Lake, pd.DataFrame, datetime], pd.DataFrame]


@dataclass(frozen=True)
class ActualsSource:
    """How an app reads the actuals of one service.

    ``read(lake, wanted, now)`` gets the ``model_name`` and ``target_time`` pairs that want an
    actual and returns the known ones as ``model_name``, ``target_time``, ``value``, using only
    what was available at ``now`` (pairs it has no value for are left out).
    """

    service: str
    read: Reader
    source: str = "lake"


@dataclass
class ActualsOutcome:
    """What one run did: target times wanting an actual, and how many were recorded."""

    wanted: int = 0
    recorded: int = 0
    services: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for the job's run."""
        return f"{self.recorded} of {self.wanted} awaited actuals recorded"


def _wanted(url: str, service: str, now: datetime) -> pd.DataFrame:
    judged = judged_predictions(url, service, since=now - ACTUALS_LOOKBACK, until=now)
    missing = judged.loc[judged["actual"].isna() & (judged["target_time"] <= now)]
    return (
        missing[["model_name", "target_time"]]
        .astype({"model_name": str})
        .drop_duplicates()
        .reset_index(drop=True)
    )


def _values(source: ActualsSource, lake: Lake, wanted: pd.DataFrame, now: datetime) -> list[Actual]:
    found = source.read(lake, wanted, now)
    missing = {"model_name", "target_time", "value"} - set(found.columns)
    if missing:
        raise UsageError(
            f"the actuals of {source.service} lack {sorted(missing)}",
            field="actuals.read",
            rule="return model_name, target_time, value",
        )
    found = found.dropna(subset=["value"])
    found = found.merge(wanted, on=["model_name", "target_time"])  # only what was asked
    return [
        Actual(source.service, str(m), pd.Timestamp(t).to_pydatetime(), float(v), source.source)
        for m, t, v in found[["model_name", "target_time", "value"]].itertuples(index=False)
    ]


def record_realised(project: Project, apps: Sequence[App]) -> ActualsOutcome:
    """Record the actuals the ledger's predictions await, read by the apps' sources."""
    now = project.clock().now()
    outcome = ActualsOutcome()
    lake: Lake | None = None
    for app in apps:
        for source in app.actuals() if app.actuals else []:
            wanted = _wanted(project.ledger_url, source.service, now)
            outcome.wanted += len(wanted)
            if wanted.empty:
                continue
            lake = lake or open_lake(project)
            recorded = record_actuals(project.ledger_url, _values(source, lake, wanted, now))
            outcome.recorded += recorded
            outcome.services[source.service] = recorded
    return outcome


@job(
    "actuals",
    "the realised values that judge the predictions, from the lake",
    schedule="0 * * * *",  # hourly, after ingest brought the new values in, before monitor
    catch_up="latest",  # a run looks back a week: one run catches up everything missed
    retries=2,
    after=("ingest",),
)
def actuals(project: Project) -> ActualsOutcome:
    """Record the actuals the predictions await (see the module)."""
    return record_realised(project, load_apps())
