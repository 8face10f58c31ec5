"""Experiment tracking (MLflow) with lineage: snapshots, checks, code, environment.

>>> from heliograph.tracking import lineage_tags, tracked_run
"""

from __future__ import annotations

from ._tracking import *  # noqa: F403
from ._tracking import __all__ as _tracking_all

__all__ = sorted(_tracking_all)
