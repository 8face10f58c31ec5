"""The ``materialize`` job: the online store's feature states, brought up to the lake.

Each app names its online views (``App.online_views``); for each, the states changed by the
partitions published since the last run are computed again (see
``heliograph.features.materialize_view``). Run it after ``ingest`` (``helio job run materialize``).

Example::

    [o.summary() for o in materialize(project)]
    # ['energy_price_features@2: updated, 3 entities, 3 states computed, 81 kept (0.4 s)']
"""

from __future__ import annotations

from typing import Any

from heliograph.core import Project, load_apps
from heliograph.features import MaterializeOutcome, OnlineStore, OnlineView, materialize_view

from ._job import job

__all__ = ["materialize", "online_views"]


def online_views(project: Project) -> list[OnlineView]:
    """The online views of every app the project uses (it declares the app's datasets)."""
    declared = set(project.settings.datasets)
    found: list[OnlineView] = []
    for app in load_apps():
        if app.online_views and set(app.datasets) <= declared:
            found.extend(app.online_views())
    return found


@job(
    "materialize",
    "compute the online store's feature states from newly published partitions",
    schedule="0 * * * *",
    retries=2,
    after=("ingest",),
)
def materialize(project: Project, *, store: OnlineStore | None = None) -> list[MaterializeOutcome]:
    """Materialise every online view of the project (into ``store``, default the project's)."""
    views = online_views(project)
    if not views:
        return []
    mine = store is None
    used: Any = store or OnlineStore.open(project)
    try:
        now = project.clock().now()
        return [materialize_view(used, view, now=now) for view in views]
    finally:
        if mine:
            used.close()
