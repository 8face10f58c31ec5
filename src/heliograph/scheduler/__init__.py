"""The scheduler: declared jobs on their schedules, each (job, scheduled time) run once.

Runs are claimed in the ledger (``heliograph.ledger.JobRuns``) before their effect, so several
schedulers, a crashed and restarted one, and hand runs (``helio job run NAME --at T``) share
one ledger without running an interval twice or losing one. ``helio up`` runs a scheduler in
its process; on the project's clock, which may be an accelerated replay.

Example::

    from heliograph.scheduler import Scheduler
    stop = threading.Event()
    Scheduler(project).run(stop)          # until stop.set()
"""

from __future__ import annotations

from ._owner import new_owner, owner_is_dead
from ._runner import RunOutcome, describe_result, execute
from ._scheduler import Due, Scheduler, order_jobs
from ._status import JobStatus, job_statuses

__all__ = [
    "Due",
    "JobStatus",
    "RunOutcome",
    "Scheduler",
    "describe_result",
    "execute",
    "job_statuses",
    "new_owner",
    "order_jobs",
    "owner_is_dead",
]
