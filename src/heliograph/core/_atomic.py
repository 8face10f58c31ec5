"""Atomic file writes: a reader sees the old file or the whole new one, never half of either.

The one way heliograph replaces a file: write a temporary file in the target's folder, flush
and fsync it, rename it over the target, then fsync the folder so that the rename itself
survives a power cut.

Example::

    atomic_write(Path("report.md"), "# Report\\n")
    atomic_move(Path("_staging/abc.parquet.tmp"), Path("date=2025-06-01/part-abc.parquet"))
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_move", "atomic_write"]


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_move(source: Path | str, target: Path | str) -> Path:
    """Rename a finished, fsynced ``source`` over ``target`` and make the rename durable.

    ``source`` must be on the same file system as ``target`` (a staging folder beside it).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    _fsync_folder(target.parent)
    return target


def atomic_write(
    path: str | os.PathLike[str],
    content: str | bytes,
    *,
    encoding: str = "utf-8",
    mode: int = 0o644,
) -> Path:
    """Replace ``path`` with ``content`` atomically (creating its folder if needed).

    On any failure the old file is left as it was and no temporary file remains.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode(encoding) if isinstance(content, str) else content
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)  # mkstemp makes 0600; these files are meant to be read
        return atomic_move(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
