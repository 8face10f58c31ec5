"""Where the lake's files live: a local folder, or any fsspec filesystem (S3 first).

A lake root is a ``pathlib.Path`` for a folder and a ``upath.UPath`` for a URL
(``s3://bucket/prefix``, ``gs://…``, ``memory://…``): both have the same path API, so the
lake's code reads and lists them alike. What differs is writing, and this module is the one
place that knows how:

- **a partition file appears atomically by staging and renaming.** The Parquet file is
  written locally, uploaded to ``_staging/<uuid>.parquet.tmp`` under the lake root (never
  read: readers list ``<dataset>/date=*/part-*.parquet`` only), then renamed to its final
  key. On S3 a rename is a server-side copy and a delete: the copy creates the final object
  in one step, so a reader lists it whole or not at all. A plain PUT to the final key would
  be atomic on S3 too, but not on every fsspec filesystem (SFTP, local, WebDAV show a file
  while it is written); staging keeps one rule for all of them, at one copy's cost.
- **small files (layouts, manifests, reports) are one PUT** of the whole content: an S3
  object is replaced whole or not at all. On a local folder, ``atomic_write``.
- **the check log is rewritten whole** to append (object stores cannot append); one writer
  per dataset is assumed on object storage (no ``flock`` there): the ingest job runs once at
  a time (the scheduler's lease, a CronJob with ``concurrencyPolicy: Forbid``).
- **listings are not cached** (``use_listings_cache=False``): another process's new
  partition is seen at the next look.

Credentials and the endpoint come from the environment the AWS way (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL`` for an S3-compatible server), never from
``helio.toml``.

Example::

    root = lake_root("s3://lake/energy")
    write_text(root / "x.json", "{}")
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, cast

import pyarrow as pa
import pyarrow.parquet as pq

from heliograph.core import atomic_move, atomic_write

# The lake's own helpers are used by its modules; these three are public.
__all__ = ["is_remote", "lake_root", "register_filesystem"]


def lake_root(location: str | os.PathLike[str]) -> Path:
    """The lake root for a folder or a URL (``s3://bucket/prefix``)."""
    text = str(location)
    if "://" not in text or text.startswith("file://"):
        return Path(text.removeprefix("file://"))
    from upath import UPath

    # A UPath has Path's API (not its class): the lake's code treats both alike.
    return cast(Path, UPath(text.rstrip("/"), use_listings_cache=False))


def is_remote(path: Path) -> bool:
    """Whether ``path`` is on an fsspec filesystem rather than a local folder."""
    return hasattr(path, "fs") and getattr(path, "protocol", "") not in ("", "file", "local")


def _fs(path: Path) -> Any:
    return path.fs  # type: ignore[attr-defined]


def _key(path: Path) -> str:
    return str(path.path)  # type: ignore[attr-defined]


def write_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` whole (a reader sees the old or the new content)."""
    if is_remote(path):
        _fs(path).pipe_file(_key(path), text.encode("utf-8"))
    else:
        atomic_write(path, text)


def append_text(path: Path, text: str) -> None:
    """Add ``text`` at the end of ``path`` (rewritten whole on object storage)."""
    if not text:
        return
    if is_remote(path):
        old = path.read_bytes() if path.is_file() else b""
        _fs(path).pipe_file(_key(path), old + text.encode("utf-8"))
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)


def write_parquet(table: pa.Table, path: Path) -> None:
    """Write ``table`` to the local ``path`` and make it durable."""
    pq.write_table(table, path, compression="zstd")
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def publish_table(
    root: Path,
    table: pa.Table,
    target: Path,
    write: Callable[[pa.Table, Path], None] = write_parquet,
) -> None:
    """Write ``table`` as Parquet at ``target`` so that it appears whole, in one step."""
    if not is_remote(target):
        staging = root / "_staging"
        staging.mkdir(parents=True, exist_ok=True)
        tmp = staging / f"{uuid.uuid4().hex}.parquet.tmp"
        try:
            write(table, tmp)
            atomic_move(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return
    fs = _fs(target)
    staged = f"{_key(root)}/_staging/{uuid.uuid4().hex}.parquet.tmp"
    with tempfile.TemporaryDirectory(prefix="helio-lake-") as folder:
        local = Path(folder) / "part.parquet"
        write(table, local)
        fs.put_file(str(local), staged)
    try:
        fs.mv(staged, _key(target))
    finally:
        with contextlib.suppress(FileNotFoundError):
            fs.rm_file(staged)


def file_rows(path: Path) -> int:
    """Rows in a Parquet file (from its footer)."""
    if not is_remote(path):
        return int(pq.read_metadata(path).num_rows)
    with path.open("rb") as handle:
        return int(pq.read_metadata(handle).num_rows)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def lock(root: Path, name: str) -> Iterator[None]:
    """One writer of dataset ``name`` at a time on this host (a file lock); on object
    storage, nothing: one ingest at a time is the scheduler's (see the module's text)."""
    if is_remote(root):
        yield
        return
    folder = root / "_locks"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def register_filesystem(con: Any, paths: Iterable[Path]) -> None:
    """Let DuckDB read ``paths`` through their fsspec filesystem (``duckdb.register_filesystem``).

    DuckDB's own ``httpfs`` extension would be faster (production installs it ahead, in the
    image: ``INSTALL httpfs`` needs a download this machine cannot make); the fsspec route
    needs nothing beyond s3fs, and reads the same files.
    """
    seen: set[int] = set()
    for path in paths:
        if is_remote(path):
            fs = _fs(path)
            if id(fs) not in seen:
                seen.add(id(fs))
                with contextlib.suppress(Exception):  # already registered on this connection
                    con.register_filesystem(fs)
