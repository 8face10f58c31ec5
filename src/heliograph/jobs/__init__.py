"""Jobs: named, idempotent units of recurring work, run by the scheduler or by hand.

>>> from heliograph.jobs import run_job
>>> run_job(project, "ingest")
"""

from __future__ import annotations

from ._data import *  # noqa: F403
from ._data import __all__ as _data_all

__all__ = sorted(_data_all)
