"""The prediction journal: a group-committed local log, so that an answered prediction
survives a SIGKILL of the process that answered it.

A writer with ``durability="journal"`` appends every record it takes to
``<spool folder>/journal-<time_ns>.jsonl`` (the spool's line format) from a thread: all the
records waiting at that moment in one write and one ``fdatasync`` (a group commit, as
PostgreSQL's synchronous commit does with its WAL). ``wait(ticket)`` is what a request awaits
before its response goes out. A segment is deleted once every record in it is in the database
or the spool; segments left by a process that died are replayed as spool segments by the next
writer on the folder (replay is idempotent: records already written are skipped).

Example::

    journal = Journal(folder, finished=lambda: writer_finished).start()
    ticket = journal.add(record, enqueued=1)
    await journal.wait(ticket)      # the record is on disk
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ._predictions import _db_row, _first_line
from ._spool import _SEGMENT_LINES, _spool_line

__all__: list[str] = []  # the prediction writer's part: PredictionWriter(durability=...)

logger = logging.getLogger("heliograph.ledger")

JOURNALS = "journal-*.jsonl"


def adopt_journals(folder: Path) -> int:
    """Turn journals left by a process that died into spool segments (replayed later);
    returns how many lines they hold. Call it only while holding the folder's claim."""
    lines = 0
    for path in sorted(folder.glob(JOURNALS)):
        lines += path.read_bytes().count(b"\n")
        path.rename(path.with_name(path.name.replace("journal-", "segment-", 1)))
    return lines


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():  # a client that went away cancelled it
        future.set_result(None)


class Journal:
    """Group-committed, fsynced log of the records a writer has taken (see the module)."""

    def __init__(self, folder: Path, finished: Callable[[], int], linger: float = 0.0) -> None:
        self.folder, self._finished = Path(folder), finished
        self.linger = linger  # s to gather more records before a commit nobody waits for
        self._cond = threading.Condition()
        self._pending: list[tuple[int, int, Any]] = []  # (ticket, enqueued index, record)
        self._waiters: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._ticket = self._synced = 0
        self._segments: deque[tuple[Path, int]] = deque()  # closed: (path, last enqueued)
        self._segment: Path | None = None
        self._segment_lines = self._segment_last = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.commits = self.errors = 0

    def start(self) -> Journal:
        self._thread = threading.Thread(target=self._run, name="prediction-journal", daemon=True)
        self._thread.start()
        return self

    def add(self, record: Any, enqueued: int) -> int:
        """Take ``record`` (the writer's ``enqueued``-th queued record); returns its ticket."""
        with self._cond:
            self._ticket += 1
            self._pending.append((self._ticket, enqueued, record))
            if len(self._pending) == 1:
                self._cond.notify()
            return self._ticket

    def wait(self, ticket: int) -> Awaitable[None] | None:
        """An awaitable done when ``ticket``'s record is on disk; None when it already is
        (or the journal has stopped)."""
        with self._cond:
            if ticket <= self._synced or self._thread is None or not self._thread.is_alive():
                return None
            loop = asyncio.get_running_loop()
            future: asyncio.Future[None] = loop.create_future()
            self._waiters.append((ticket, loop, future))
            return future

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._pending and not self._stop.is_set():
                    self._cond.wait(0.2)
                gather = self.linger if self._pending and not self._stop.is_set() else 0.0
            if gather:
                # Nobody waits (durability "window"): wake once per linger, not per record.
                # Each wake-up takes the GIL from the event loop, and on a busy machine
                # handing it over costs milliseconds of scheduling.
                time.sleep(gather)
            with self._cond:
                batch, self._pending = self._pending, []
            if batch:
                self._commit(batch)
            self._prune()
            if self._stop.is_set() and not self._pending:
                break
        self._release_all()

    def _commit(self, batch: list[tuple[int, int, Any]]) -> None:
        lines = []
        for _, _, record in batch:
            with contextlib.suppress(Exception):  # a bad record is the database path's to reject
                lines.append(_spool_line(_db_row(record)))
        try:
            if self._segment is None or self._segment_lines >= _SEGMENT_LINES:
                self._new_segment()
            assert self._segment is not None
            with self._segment.open("ab") as out:
                out.write(b"".join(lines))
                out.flush()
                os.fdatasync(out.fileno())
            self._segment_lines += len(lines)
            self._segment_last = batch[-1][1]
            self.commits += 1
        except OSError as exc:  # the answer still goes out: the record is queued for the database
            self.errors += 1
            self._segment = None
            logger.error(
                "cannot write the prediction journal in %s: %s", self.folder, _first_line(exc)
            )
        with self._cond:
            self._synced = batch[-1][0]
            ready = [w for w in self._waiters if w[0] <= self._synced]
            self._waiters = [w for w in self._waiters if w[0] > self._synced]
        for _, loop, future in ready:
            with contextlib.suppress(RuntimeError):  # the loop closed
                loop.call_soon_threadsafe(_resolve, future)

    def _new_segment(self) -> None:
        if self._segment is not None:
            self._segments.append((self._segment, self._segment_last))
        self._segment = self.folder / f"journal-{time.time_ns()}.jsonl"
        self._segment.touch()
        self._segment_lines = 0
        directory = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(directory)  # the new file's name is on disk before any answer relies on it
        finally:
            os.close(directory)

    def _prune(self) -> None:
        """Delete the segments whose every record is in the database or the spool."""
        finished = self._finished()
        while self._segments and self._segments[0][1] <= finished:
            self._segments.popleft()[0].unlink(missing_ok=True)
        if self._segment is not None and self._segment_last <= finished and self._segment_lines:
            idle = not self._pending
            if idle and self._segment_lines >= 1000:  # start afresh rather than grow forever
                self._segment.unlink(missing_ok=True)
                self._segment = None

    def _release_all(self) -> None:
        with self._cond:
            waiters, self._waiters = self._waiters, []
        for _, loop, future in waiters:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve, future)

    def close(self, timeout: float = 10.0) -> None:
        """Commit what is pending and stop; delete the segments whose records are all stored."""
        self._stop.set()
        with self._cond:
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout)
        self._prune()
        finished = self._finished()
        if self._segment is not None and self._segment_last <= finished:
            self._segment.unlink(missing_ok=True)
            self._segment = None
