"""The prediction writer: every answered prediction, written in the background, never lost.

``submit`` takes microseconds and never raises; a thread writes batches. While the database is
down, batches go to fsynced spool segments (``_spool``), replayed oldest first when it is
back, or by the next writer started on that folder; replay is idempotent (unique
``record_id``, ON CONFLICT DO NOTHING). ``durability`` says what a SIGKILL may lose.
``"journal"``: every record is also appended to a group-committed local journal
(``_journal``) and ``durable(ticket)`` is what a request awaits before answering: nothing
answered. ``"window"``: the same journal, not awaited, committed every 20 ms: the records of
the last 20 ms and of the commit in progress, whatever the database does. ``"background"``
(the default here): what is not yet written or spooled, about ``flush_interval`` of records
while the database answers.

Example::

    with PredictionWriter("sqlite:///.helio/ledger.db", Path(".helio/spool")) as writer:
        writer.submit(PredictionRecord("price", "gb", "3", "champion", "r1", "ab", {"p": 6}, 3.1))
    count_predictions("sqlite:///.helio/ledger.db", service="price")
    # 1
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ._journal import Journal, adopt_journals
from ._ledger import LedgerError
from ._predictions import (
    _DOWN,
    PredictionRecord,
    _db_row,
    _engine,
    _first_line,
    predictions_table,
)
from ._schema import create_tables
from ._spool import _SEGMENT_LINES, _SEGMENTS, _append, _spool_line

__all__ = ["PredictionWriter"]

logger = logging.getLogger("heliograph.ledger")

Durability = Literal["journal", "window", "background"]
_DURABILITY = ("journal", "window", "background")
_WINDOW_LINGER = 0.02  # s: "window" commits the journal at most every 20 ms (plus one sync)
_STATS = ("submitted", "written", "spooled", "errors", "last_error", "rejected", "replayed")


class _ValuesInsert:
    """SQLite: a batch as multi-row ``INSERT … VALUES (…), (…) ON CONFLICT DO NOTHING``.

    ``executemany`` lets go of the GIL around every row's step; in a gateway whose event loop
    keeps the GIL busy, taking it back costs up to the switch interval (5 ms) each time, and
    the writer fell to a few hundred rows a second. Here a statement of up to ``_ROWS`` rows is
    one step. Values go through the columns' own SQLAlchemy bind processors, so what is stored
    is what ``executemany`` stored.
    """

    _ROWS = 100  # x 13 columns: well under SQLite's 32,766 parameters

    def __init__(self, engine: sa.Engine) -> None:
        dialect = engine.dialect
        self.columns = [c for c in predictions_table.columns if c.name != "id"]
        self.processors = [
            c.type.dialect_impl(dialect).bind_processor(dialect) for c in self.columns
        ]
        self._sql: dict[int, str] = {}

    def sql(self, rows: int) -> str:
        if rows not in self._sql:
            names = ", ".join(c.name for c in self.columns)
            one = "(" + ", ".join("?" * len(self.columns)) + ")"
            self._sql[rows] = (
                f"INSERT INTO {predictions_table.name} ({names}) VALUES "
                + ", ".join([one] * rows)
                + " ON CONFLICT DO NOTHING"
            )
        return self._sql[rows]

    def execute(self, con: sa.Connection, batch: list[dict[str, Any]]) -> None:
        names = [c.name for c in self.columns]
        pairs = list(zip(names, self.processors, strict=True))
        for start in range(0, len(batch), self._ROWS):
            chunk = batch[start : start + self._ROWS]
            values = [
                value if process is None or value is None else process(value)
                for row in chunk
                for name, process in pairs
                for value in (row[name],)
            ]
            con.exec_driver_sql(self.sql(len(chunk)), tuple(values))


class PredictionWriter:
    """Writes prediction records in batches from a thread; spools them while the database is down.
    One spool folder per process: two live writers must not share one.

    Example::

        writer = PredictionWriter(project.ledger_url, project.state / "spool").start()
        writer.submit(record)   # on the hot path: microseconds, never raises
        writer.close()          # at shutdown: every record is in the database or the spool
    """

    def __init__(
        self,
        url: str,
        spool_dir: Path,
        *,
        batch_size: int = 500,
        flush_interval: float = 0.2,
        retry_interval: float = 2.0,
        max_queue: int = 100_000,
        durability: Durability = "background",
    ) -> None:
        if durability not in _DURABILITY:
            raise LedgerError(
                f"unknown durability {durability!r}",
                field="ledger.durability",
                rule="journal, window or background",
            )
        self._engine, self._spool_dir = _engine(url), Path(spool_dir)
        self._url = self._engine.url.render_as_string(hide_password=True)
        try:
            self._spool_dir.mkdir(parents=True, exist_ok=True)
            adopt_journals(self._spool_dir)  # a journal here is a dead process's: replay it
            lines = sum(p.read_bytes().count(b"\n") for p in self._spool_dir.glob(_SEGMENTS))
        except OSError as exc:
            message = f"cannot use the prediction spool folder {self._spool_dir}: {exc}"
            raise LedgerError(message, field="ledger.spool_dir", rule="a writable folder") from None
        insert = postgresql_insert if self._engine.dialect.name == "postgresql" else sqlite_insert
        self._insert_stmt = insert(predictions_table).on_conflict_do_nothing()  # record_id
        self._values = (
            _ValuesInsert(self._engine) if self._engine.dialect.name == "sqlite" else None
        )
        self._batch_size, self._max_queue = max(1, batch_size), max(1, max_queue)
        self._flush_interval, self._retry_interval = flush_interval, retry_interval
        self._queue: deque[Any] = deque()
        self._lock, self._spool_lock = threading.Lock(), threading.Lock()  # figures; spool files
        self._done = threading.Condition()  # notified as records are stored
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._submitted = self._enqueued = self._finished = 0
        self._written = self._replayed = self._rejected = self._errors = self._outages = 0
        self._last_error: str | None = None
        self._state, self._next_retry = "unknown", 0.0  # of the database: unknown, up or down
        self._segment: Path | None = None  # the spool segment being appended to
        self._segment_lines, self._spooled, self._dirty = 0, lines, lines > 0
        self._held: list[dict[str, Any]] = []  # rows the thread took, not yet stored
        self.durability = durability
        self._journal = (
            Journal(
                self._spool_dir,
                finished=lambda: self._finished,
                linger=_WINDOW_LINGER if durability == "window" else 0.0,
            )
            if durability in ("journal", "window")
            else None
        )

    def start(self) -> PredictionWriter:
        """Start the writing thread; it first replays what an earlier process left spooled."""
        with self._lock:
            if self._closed:
                raise LedgerError("this prediction writer is closed; create a new one")
            if self._thread is not None:
                return self
            self._thread = threading.Thread(target=self._run, name="prediction-writer", daemon=True)
        if self._journal is not None:
            self._journal.start()
        self._thread.start()
        atexit.register(self.close)
        return self

    def submit(self, record: PredictionRecord) -> int:
        """Queue one record; spool it at once if the queue is full or the writer closed.
        Returns the ticket to pass to ``durable`` (0: nothing to wait for)."""
        try:
            with self._lock:
                self._submitted += 1
                direct = self._closed or len(self._queue) >= self._max_queue
                if not direct:
                    self._queue.append(record)
                    self._enqueued += 1
                enqueued = self._enqueued
            if direct:
                self._spool_direct(record)  # fsynced before it returns
                return 0
            if len(self._queue) >= self._batch_size and not self._wake.is_set():
                self._wake.set()
            return self._journal.add(record, enqueued) if self._journal is not None else 0
        except Exception as exc:  # the hot path never raises
            self._error("cannot take a prediction record", exc)
            return 0

    def durable(self, ticket: int) -> Awaitable[None] | None:
        """With ``durability="journal"``: an awaitable done once ``ticket``'s record is
        fsynced on local disk (None if it already is); otherwise None (nothing to wait for)."""
        if not ticket or self._journal is None or self.durability != "journal":
            return None
        return self._journal.wait(ticket)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every record submitted so far is in the database or the spool."""
        with self._lock:
            target = self._enqueued
        self._wake.set()
        alive = self._thread is not None and self._thread.is_alive()
        with self._done:
            return self._done.wait_for(lambda: self._finished >= target, timeout if alive else 0)

    def close(self, timeout: float = 10.0) -> None:
        """Write (or spool) everything queued, then stop the thread; later submits are spooled."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        atexit.unregister(self.close)
        self._next_retry = 0.0  # one last chance to write rather than spool
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._thread is not None and self._thread.is_alive() and self._held:
            # stuck on a database that stopped answering: spool what it holds (if the write
            # ends after all, the replay skips the rows it stored)
            held, self._held = self._held, []
            if self._spool(held):
                self._finish(len(held))
        for _ in range(len(self._queue)):  # never started, or stuck: spool what is left
            with contextlib.suppress(IndexError):
                self._spool_direct(self._queue.popleft())
                self._finish(1)
        if self._journal is not None:
            self._journal.close(timeout)

    def __enter__(self) -> PredictionWriter:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def stats(self) -> dict[str, Any]:
        """Figures for health checks; ``written`` counts ``replayed`` (records from the spool)."""
        with self._lock:
            figures = {name: getattr(self, f"_{name}") for name in _STATS}
            db_up, outages = self._state == "up", self._outages
        journal = self._journal.commits if self._journal is not None else 0
        figures |= {"queue_depth": len(self._queue), "db_up": db_up, "outages": outages}
        return {**figures, "journal_commits": journal}

    def _run(self) -> None:
        while True:
            try:
                stopping = self._stop.is_set()
                if self._state != "up" and time.monotonic() >= self._next_retry:
                    self._probe()
                if self._state == "up" and self._dirty:
                    self._replay()  # the spool first, oldest first
                held = self._held = self._held or self._take(stopping)
                if held and ((self._state == "up" and self._insert(held)) or self._spool(held)):
                    if self._held is held:  # else close() spooled them meanwhile
                        self._held = []
                        self._finish(len(held))
                elif held:  # nowhere to put them: wait
                    time.sleep(min(self._retry_interval, 1.0))
                if stopping and not self._held and not self._queue:
                    break
            except Exception as exc:  # keep writing whatever happens
                self._error("prediction writer", exc)
                time.sleep(self._flush_interval)
        self._engine.dispose()

    def _take(self, stopping: bool) -> list[dict[str, Any]]:
        if not stopping and len(self._queue) < self._batch_size:
            self._wake.wait(self._flush_interval)
            self._wake.clear()
        rows = []
        for _ in range(min(self._batch_size, len(self._queue))):
            record = self._queue.popleft()
            try:
                rows.append(_db_row(record))
            except Exception as exc:
                self._reject(repr(record), exc)
                self._finish(1)
        return rows

    def _finish(self, count: int) -> None:
        with self._done:
            self._finished += count
            self._done.notify_all()

    def _insert(self, rows: list[dict[str, Any]], replay: bool = False) -> bool:
        """Insert in one transaction (False: the database is down); a batch refused while it
        answers goes row by row, a row refused again to rejected.jsonl rather than blocking."""
        batches, written = [rows], 0
        while batches:
            batch = batches.pop()
            try:
                with self._engine.begin() as con:
                    if self._values is not None:
                        self._values.execute(con, batch)
                    else:
                        con.execute(self._insert_stmt, batch)
                written += len(batch)
            except _DOWN as exc:
                self._error(f"the ledger database {self._url} is unreachable", exc, down=True)
                return False
            except Exception as exc:  # bad data (or a dropped table) while the database answers
                if not self._probe():
                    return False
                if len(batch) > 1:
                    batches.extend([row] for row in reversed(batch))
                else:
                    self._reject(_spool_line(batch[0]).decode(), exc)
        with self._lock:
            self._written += written
            self._replayed += written if replay else 0
        return True

    def _probe(self) -> bool:
        """Is the database there? Creates the tables if need be; marks it up or down."""
        try:
            create_tables(self._engine)  # a few catalogue queries when they exist
        except Exception as exc:
            self._error(f"the ledger database {self._url} is unreachable", exc, down=True)
            return False
        if self._state == "down":
            logger.warning("the ledger database %s is back; replaying the spool", self._url)
        self._state = "up"
        return True

    def _error(self, what: str, exc: BaseException, *, down: bool = False) -> None:
        """Count an error and log it (once while it repeats); ``down``: the database is gone."""
        message = f"{what}: {_first_line(exc)}"
        with self._lock:
            self._errors += 1
            repeated, self._last_error = self._last_error == message, message
            outage = down and self._state != "down"
            self._outages += outage
            if down:
                self._state, self._next_retry = "down", time.monotonic() + self._retry_interval
        if outage:
            logger.warning("%s; spooling predictions to %s", message, self._spool_dir)
        elif not (down or repeated):
            logger.error("%s", message)

    def _spool_direct(self, record: Any) -> None:
        try:
            if not self._spool([_db_row(record)]):  # the disk failed too: keep it in memory
                with self._lock:
                    self._queue.append(record)
                    self._enqueued += 1
        except Exception as exc:
            self._reject(repr(record), exc)

    def _spool(self, rows: list[dict[str, Any]]) -> bool:
        data = b"".join(map(_spool_line, rows))
        with self._spool_lock:
            if self._segment is None or self._segment_lines >= _SEGMENT_LINES:
                self._segment = self._spool_dir / f"segment-{time.time_ns()}.jsonl"
                self._segment_lines = 0
            try:
                _append(self._segment, data)
            except OSError as exc:
                self._segment = None  # after a torn line, the next write starts a new segment
                self._error(f"cannot write to the prediction spool {self._spool_dir}", exc)
                return False
            self._segment_lines += len(rows)
            self._spooled += len(rows)
            self._dirty = True
        return True

    def _replay(self) -> None:
        """Write every spool segment, oldest first; delete each only after its last commit."""
        with self._spool_lock:
            self._segment = None  # later writes go to a new segment
            segments = sorted(self._spool_dir.glob(_SEGMENTS))  # time_ns: oldest first
        for path in segments:
            if len(self._queue) > max(self._max_queue // 2, self._batch_size):
                return  # live records first, so that submit need not spool; the rest later
            rows, lines = [], path.read_bytes().splitlines()
            for number, line in enumerate(lines, 1):
                try:
                    rows.append(_db_row(PredictionRecord.from_row(json.loads(line))))
                except Exception as exc:
                    why = f"skipping unreadable line {number} of {path.name} (torn by a crash?)"
                    logger.warning("%s: %s", why, _first_line(exc))
                    self._reject(line.decode("utf-8", "replace"), exc)
            step = self._batch_size
            if not all(self._insert(rows[i : i + step], True) for i in range(0, len(rows), step)):
                return  # the database went away again: later (still dirty)
            path.unlink(missing_ok=True)
            with self._spool_lock:
                self._spooled = max(0, self._spooled - len(lines))
            logger.info("replayed %d predictions from %s", len(rows), path.name)
        with self._spool_lock:
            self._dirty = self._segment is not None  # spooled during the replay: once more

    def _reject(self, text: str, exc: BaseException) -> None:
        """Set aside what the ledger refuses, with the reason, in rejected.jsonl (else the log)."""
        line = json.dumps({"error": _first_line(exc), "record": text})
        with self._lock:
            self._rejected += 1
        try:
            with self._spool_lock:
                _append(self._spool_dir / "rejected.jsonl", f"{line}\n".encode())
            self._error("a prediction record was set aside in rejected.jsonl", exc)
        except OSError as write_exc:
            self._error(f"cannot write rejected.jsonl, so here it is: {line}", write_exc)
