"""Jobs: named, idempotent units of recurring work, run by the scheduler or by hand.

Example::

    from heliograph.jobs import JOBS, run_job
    run_job(project, "ingest")

A job is declared with ``@job(name, description)`` on its function (see ``_job``).
"""

from __future__ import annotations

from ._check import *  # noqa: F403
from ._check import __all__ as _check_all
from ._check_events import *  # noqa: F403
from ._check_events import __all__ as _check_events_all
from ._ingest import *  # noqa: F403
from ._ingest import __all__ as _ingest_all
from ._job import *  # noqa: F403
from ._job import __all__ as _job_all
from ._materialize import *  # noqa: F403
from ._materialize import __all__ as _materialize_all
from ._pipeline import *  # noqa: F403
from ._pipeline import __all__ as _pipeline_all
from ._report import *  # noqa: F403
from ._report import __all__ as _report_all
from ._snapshot import *  # noqa: F403
from ._snapshot import __all__ as _snapshot_all

__all__ = sorted(
    [
        *_check_all,
        *_check_events_all,
        *_ingest_all,
        *_job_all,
        *_materialize_all,
        *_pipeline_all,
        *_report_all,
        *_snapshot_all,
    ]
)
