"""Job runs: one row per (job, scheduled time), claimed atomically before the run's effect.

The row is the run key. A process claims an interval by inserting its row (``claim``); the
unique key makes that succeed for exactly one process however many try at once, on SQLite
and on PostgreSQL alike. The claimant holds a lease (wall-clock time) that it renews while
the job runs; a row whose lease has run out, or whose owner is known to be dead, can be taken
over (``take_over``), and so can a failed run whose retry is due. Every change is a
compare-and-set on (status, attempt, owner), so two processes never both win.

Statuses: ``running``, ``succeeded``, ``retrying`` (failed, tried again at ``retry_at``),
``failed`` (out of retries), ``not_run`` (the job said why it could not run).

Example::

    runs = JobRuns(Ledger(url))
    run = runs.claim("ingest", datetime(2025, 6, 1, 10, tzinfo=UTC), owner="host:41:ab")
    if run is not None:          # this process holds the interval
        ...                      # the job's effect
        runs.finish(run, "succeeded", summary="3 partitions")
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from heliograph.core import as_utc

from ._ledger import Ledger, LedgerError, _metadata

__all__ = ["RUN_STATUSES", "JobRun", "JobRuns"]

RUN_STATUSES = ("running", "succeeded", "retrying", "failed", "not_run")
"""What a job run can be: in progress, done, failed and waiting for its retry, out of
retries, or not run (the job said why)."""

job_runs_table = sa.Table(
    "job_runs",
    _metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("job", sa.String(128), nullable=False),
    sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("trigger", sa.String(16), nullable=False),
    sa.Column("owner", sa.String(256), nullable=True),
    sa.Column("lease_expires", sa.DateTime(timezone=True), nullable=True),  # wall clock
    sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),  # the project's clock
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),  # wall clock
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),  # wall clock
    sa.Column("summary", sa.Text, nullable=False, default=""),
    sa.UniqueConstraint("job", "scheduled_for", name="uq_job_runs_key"),
    sa.Index("ix_job_runs_job_status", "job", "status"),
)


@dataclass(frozen=True)
class JobRun:
    """One scheduled interval of a job, as the ledger holds it."""

    job: str
    scheduled_for: datetime
    status: str
    attempt: int
    trigger: str
    owner: str | None
    lease_expires: datetime | None
    retry_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    summary: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: times as ISO 8601 strings."""
        out: dict[str, Any] = dict(self.__dict__)
        for key, value in out.items():
            if isinstance(value, datetime):
                out[key] = value.isoformat()
        return out


def _time(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def _run(row: Any) -> JobRun:
    return JobRun(
        job=row["job"],
        scheduled_for=as_utc(row["scheduled_for"]),
        status=row["status"],
        attempt=int(row["attempt"]),
        trigger=row["trigger"],
        owner=row["owner"],
        lease_expires=_time(row["lease_expires"]),
        retry_at=_time(row["retry_at"]),
        started_at=_time(row["started_at"]),
        finished_at=_time(row["finished_at"]),
        summary=row["summary"] or "",
    )


def _wall() -> datetime:
    return datetime.now(UTC)


class JobRuns:
    """The ``job_runs`` table of a ledger: claims, leases, outcomes, and what ran last."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.engine = ledger.engine

    def _ready(self) -> None:
        # Two processes creating the tables of a new PostgreSQL database at once: one of them
        # fails on the catalogue's unique key; the tables are there when it looks again.
        for attempt in range(3):
            try:
                self.ledger._ensure()
                return
            except LedgerError:
                if attempt == 2:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def _execute(self, statement: Any, what: str) -> Any:
        """Rows for a SELECT; for a change, how many rows it changed."""
        self._ready()
        try:
            with self.engine.begin() as con:
                result = con.execute(statement)
                if result.returns_rows:  # a SELECT, or a change RETURNING what it changed
                    return result.mappings().all()
                return result.rowcount
        except IntegrityError:
            raise
        except SQLAlchemyError as exc:
            raise LedgerError(
                f"cannot {what} job runs in the ledger at {self.ledger.safe_url()}: "
                f"{str(exc).splitlines()[0]}",
                field="ledger.url",
            ) from None

    def claim(
        self,
        job: str,
        scheduled_for: datetime,
        *,
        owner: str,
        lease: timedelta = timedelta(seconds=60),
        trigger: str = "schedule",
    ) -> JobRun | None:
        """Insert the run's row as ``running`` by ``owner``; None if the interval has a row."""
        now = _wall()
        row = {
            "job": job,
            "scheduled_for": as_utc(scheduled_for),
            "status": "running",
            "attempt": 1,
            "trigger": trigger,
            "owner": owner,
            "lease_expires": now + lease,
            "retry_at": None,
            "started_at": now,
            "finished_at": None,
            "summary": "",
        }
        dialect = self.engine.dialect.name
        if dialect in ("sqlite", "postgresql"):
            from sqlalchemy.dialects import postgresql, sqlite

            insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
            statement: Any = insert(job_runs_table).values(**row)
            statement = statement.on_conflict_do_nothing(index_elements=["job", "scheduled_for"])
            inserted = len(self._execute(statement.returning(job_runs_table.c.id), "claim"))
        else:  # another database: the unique key still decides
            try:
                statement = job_runs_table.insert().values(**row).returning(job_runs_table.c.id)
                inserted = len(self._execute(statement, "claim"))
            except IntegrityError:
                inserted = 0
        return _run(row) if inserted == 1 else None

    def get(self, job: str, scheduled_for: datetime) -> JobRun | None:
        """The run of ``job`` for ``scheduled_for``, if the ledger has one."""
        t = job_runs_table
        query = sa.select(t).where(t.c.job == job, t.c.scheduled_for == as_utc(scheduled_for))
        rows = self._execute(query, "read")
        return _run(rows[0]) if rows else None

    def _swap(self, expected: JobRun, values: dict[str, Any], what: str) -> bool:
        """Compare-and-set: change the row only if it is still exactly ``expected``."""
        t = job_runs_table
        owner = t.c.owner.is_(None) if expected.owner is None else t.c.owner == expected.owner
        statement = (
            t.update()
            .where(
                t.c.job == expected.job,
                t.c.scheduled_for == expected.scheduled_for,
                t.c.status == expected.status,
                t.c.attempt == expected.attempt,
                owner,
            )
            .values(**values)
        )
        return bool(self._execute(statement, what) == 1)

    def take_over(
        self,
        expected: JobRun,
        *,
        owner: str,
        lease: timedelta = timedelta(seconds=60),
        trigger: str = "schedule",
    ) -> JobRun | None:
        """Claim a run that already has a row (a due retry, an abandoned or a forced run):
        its next attempt, by ``owner``; None if another process changed the row first."""
        now = _wall()
        values: dict[str, Any] = {
            "status": "running",
            "attempt": expected.attempt + 1,
            "owner": owner,
            "trigger": trigger,
            "lease_expires": now + lease,
            "retry_at": None,
            "started_at": now,
            "finished_at": None,
        }
        if not self._swap(expected, values, "take over"):
            return None
        return replace(expected, **values)

    def renew(self, run: JobRun, lease: timedelta) -> bool:
        """Extend the lease of a run this process holds; False if it no longer holds it."""
        return self._swap(run, {"lease_expires": _wall() + lease}, "renew")

    def finish(
        self,
        run: JobRun,
        status: str,
        *,
        summary: str = "",
        retry_at: datetime | None = None,
    ) -> bool:
        """Record the outcome of the run this process holds; False if it was taken from it."""
        if status not in RUN_STATUSES or status == "running":
            raise LedgerError(f"a run finishes as one of {RUN_STATUSES[1:]}, not {status!r}")
        values = {
            "status": status,
            "summary": summary,
            "retry_at": None if retry_at is None else as_utc(retry_at),
            "lease_expires": None,
            "finished_at": _wall(),
        }
        return self._swap(run, values, "finish")

    def latest(self, job: str, *, trigger: str | None = None) -> JobRun | None:
        """The run with the newest scheduled time (any status), optionally of one trigger
        (``schedule``: the scheduler's watermark, which runs by hand do not move)."""
        t = job_runs_table
        query = sa.select(t).where(t.c.job == job).order_by(t.c.scheduled_for.desc()).limit(1)
        if trigger is not None:
            query = query.where(t.c.trigger == trigger)
        rows = self._execute(query, "read")
        return _run(rows[0]) if rows else None

    def last_finished(self, job: str) -> JobRun | None:
        """The most recently finished run of ``job`` (by when it finished)."""
        t = job_runs_table
        query = (
            sa.select(t)
            .where(t.c.job == job, t.c.finished_at.is_not(None))
            .order_by(t.c.finished_at.desc(), t.c.id.desc())
            .limit(1)
        )
        rows = self._execute(query, "read")
        return _run(rows[0]) if rows else None

    def unfinished(self, job: str) -> list[JobRun]:
        """Runs of ``job`` running or waiting for a retry, oldest scheduled time first."""
        t = job_runs_table
        query = (
            sa.select(t)
            .where(t.c.job == job, t.c.status.in_(("running", "retrying")))
            .order_by(t.c.scheduled_for)
        )
        return [_run(r) for r in self._execute(query, "read")]

    def runs(self, job: str | None = None, *, limit: int = 1000) -> list[JobRun]:
        """Runs, newest scheduled time first, optionally of one job."""
        t = job_runs_table
        query = sa.select(t).order_by(t.c.scheduled_for.desc(), t.c.id.desc()).limit(limit)
        if job is not None:
            query = query.where(t.c.job == job)
        return [_run(r) for r in self._execute(query, "read")]
