"""The model registry: roles by alias (champion, challenger, previous), policy, history.

Example::

    from heliograph.registry import Registry
    Registry(project).promote("model-a", reason="weekly retrain")
"""

from __future__ import annotations

from ._registry import *  # noqa: F403
from ._registry import __all__ as _registry_all

__all__ = sorted(_registry_all)
