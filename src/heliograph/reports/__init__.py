"""Reports people read: data reports now; model comparison reports for pull requests later.

>>> from heliograph.reports import write_data_report
"""

from __future__ import annotations

from ._ci import write_ci_report
from ._data_report import build_data_report, write_data_report

__all__ = [
    "build_data_report",
    "write_ci_report",
    "write_data_report",
]
