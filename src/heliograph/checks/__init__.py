"""Checks: data expectations with tolerances, run on every new partition.

>>> from heliograph.checks import between, run_checks
>>> results = run_checks(table, "date", [between("price", -500, 4000, mostly=0.99)])
"""

from __future__ import annotations

from ._engine import *  # noqa: F403
from ._engine import __all__ as _engine_all
from ._schema import *  # noqa: F403
from ._schema import __all__ as _schema_all
from ._spec import *  # noqa: F403
from ._spec import __all__ as _spec_all

__all__ = sorted([*_engine_all, *_schema_all, *_spec_all])
