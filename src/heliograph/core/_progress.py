"""Progress bars on long work, on standard error, off when ``HELIO_PROGRESS=0``.

Example::

    for path in track(paths, "ingesting files"):
        ingest(path)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["progress_enabled", "track"]

T = TypeVar("T")


def progress_enabled() -> bool:
    """Bars show unless HELIO_PROGRESS=0, or standard error is not a terminal."""
    if os.environ.get("HELIO_PROGRESS", "").strip() in {"0", "false", "no", "off"}:
        return False
    return sys.stderr.isatty() or os.environ.get("HELIO_PROGRESS", "") in {"1", "true", "yes"}


def track(items: Iterable[T], description: str, total: float | None = None) -> Iterator[T]:
    """Yield ``items``, drawing a progress bar while they are consumed."""
    if not progress_enabled():
        yield from items
        return
    from rich.console import Console
    from rich.progress import track as rich_track

    yield from rich_track(
        items, description=description, total=total, console=Console(stderr=True), transient=False
    )
