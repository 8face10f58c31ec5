"""Reports people read: data reports now; model comparison reports for pull requests later.

>>> from heliograph.reports import write_data_report
"""

from __future__ import annotations

from ._ci import *  # noqa: F403
from ._ci import __all__ as _ci_all
from ._data_report import *  # noqa: F403
from ._data_report import __all__ as _data_report_all

__all__ = sorted([*_ci_all, *_data_report_all])
