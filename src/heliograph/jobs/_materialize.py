"""The ``materialize`` job: the online store's feature states, brought up to the lake.

Each app names its online views (``App.online_views``); for each, the states changed by the
partitions published since the last run are computed again (see
``heliograph.features.materialize_view``). ``ingest`` runs it over the views whose datasets it
published to (``materialize_published``), so serving reads the new states at once; it can be
run by hand too (``helio job run materialize``). A failed materialisation leaves the store's
head ``failed`` (readers then answer from the lake, and say so) and an event in the ledger.

Example::

    [o.summary() for o in materialize(project)]
    # ['energy_price_features@2: updated, 3 entities, 3 states computed, 81 kept (0.4 s)']
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from heliograph.core import Project, get_logger, load_apps
from heliograph.features import MaterializeOutcome, OnlineStore, OnlineView, materialize_view
from heliograph.ledger import Ledger

from ._job import job

__all__ = ["materialize", "materialize_published", "online_views"]

log = get_logger(__name__)


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


def materialize_published(
    project: Project, datasets: Iterable[str], *, ledger: Ledger | None = None
) -> tuple[list[MaterializeOutcome], list[str]]:
    """Materialise the online views that read any of ``datasets`` (what ingest published).

    Returns (outcomes, errors): a view that fails is an error line and a
    ``materialize_failed`` event, never an exception: the data is in the lake either way.
    """
    touched = set(datasets)
    views = [v for v in online_views(project) if touched & set(v.view.datasets)]
    outcomes: list[MaterializeOutcome] = []
    errors: list[str] = []
    if not views:
        return outcomes, errors
    try:
        store = OnlineStore.open(project)
    except Exception as exc:  # a misconfigured store: ingest still succeeds
        errors.append(f"online store: {type(exc).__name__}: {exc}")
        return outcomes, errors
    try:
        now = project.clock().now()
        for view in views:
            try:
                outcomes.append(materialize_view(store, view, now=now))
            except Exception as exc:  # recorded in the store's head by materialize_view
                error = f"{view.ref}: {type(exc).__name__}: {exc}"
                errors.append(error)
                _record_failure(project, ledger, view.ref, error)
    finally:
        store.close()
    return outcomes, errors


def _record_failure(project: Project, ledger: Ledger | None, view: str, error: str) -> None:
    try:
        (ledger or Ledger(project.ledger_url)).record(
            "materialize_failed", view, f"materialising {error}; answers come from the lake"
        )
    except Exception as exc:  # the ledger down as well: the log keeps it
        log.error("could not record the failed materialisation of %s: %s", view, exc)
