"""Pure metric functions shared by training, monitoring and reports (ranking metrics so far).

>>> from heliograph.metrics import hit_rate_at_k
>>> hit_rate_at_k([[1, 2]], [{2}], k=2)
1.0
"""

from __future__ import annotations

from ._ranking import *  # noqa: F403
from ._ranking import __all__ as _ranking_all

__all__ = sorted([*_ranking_all])
