"""Heavy compute on an engine chosen by configuration: local processes, or a Ray cluster.

``open_engine(project.settings.compute).map(fn, items)`` runs ``fn`` over ``items`` and
returns the results in order; backtests, sweeps, batch scoring and simulations use it, so
that ``[compute] engine = "ray"`` (or ``helio train --engine ray``) moves them to a cluster
with no change of code or of results.

Example::

    from heliograph.compute import open_engine
    open_engine(project.settings.compute).map(abs, [-1, 2, -3])
    # [1, 2, 3]
"""

from __future__ import annotations

from ._engine import ENGINES, Engine, LocalEngine, RayEngine, chunks, open_engine

__all__ = ["ENGINES", "Engine", "LocalEngine", "RayEngine", "chunks", "open_engine"]
