"""Checks: data expectations with tolerances, run on every new partition.

Example::

    from heliograph.checks import between, run_checks
    results = run_checks(table, "date", [between("price", -500, 4000, mostly=0.99)])

A check type is one class (``RowCheck`` or ``Check`` subclass, see ``_check``); declaring it
registers it in ``CHECKS`` under its ``type`` name, which ``helio.toml`` entries use.
"""

from __future__ import annotations

from ._builtin import *  # noqa: F403
from ._builtin import __all__ as _builtin_all
from ._check import *  # noqa: F403
from ._check import __all__ as _check_all
from ._engine import *  # noqa: F403
from ._engine import __all__ as _engine_all
from ._result import *  # noqa: F403
from ._result import __all__ as _result_all
from ._schema import *  # noqa: F403
from ._schema import __all__ as _schema_all

__all__ = sorted([*_builtin_all, *_check_all, *_engine_all, *_result_all, *_schema_all])
