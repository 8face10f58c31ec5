"""A job's schedule: a cron expression, evaluated in UTC, and its catch-up policy.

Cron expressions are parsed by ``cronsim`` (Debian cron's semantics, five fields, or six with
seconds first). A schedule answers the three questions a scheduler asks: the newest scheduled
time at or before now, the next one after now, and the ones in between two moments.

Example::

    hourly = Schedule("0 * * * *")
    hourly.latest(datetime(2025, 6, 1, 10, 30, tzinfo=UTC))
    # datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
    hourly.next_after(datetime(2025, 6, 1, 10, 0, tzinfo=UTC))
    # datetime(2025, 6, 1, 11, 0, tzinfo=UTC)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from cronsim import CronSim, CronSimError

from heliograph.core import UsageError, as_utc

__all__ = ["CatchUp", "Schedule", "parse_catch_up"]

CatchUp = Literal["all", "latest"] | timedelta
"""After downtime: run ``"all"`` missed intervals, only the ``"latest"``, or those of a window."""

_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class Schedule:
    """A cron expression in UTC (``"*/30 * * * *"``: every 30 minutes)."""

    cron: str

    def __post_init__(self) -> None:
        try:
            CronSim(self.cron, datetime(2025, 1, 1))
        except (CronSimError, ValueError, IndexError) as exc:
            raise UsageError(
                f"bad cron expression {self.cron!r}: {exc or 'not a cron expression'}",
                field="schedule",
                rule="five cron fields (minute hour day month weekday), e.g. '*/30 * * * *'",
            ) from None

    def latest(self, at: datetime) -> datetime:
        """The newest scheduled time at or before ``at``."""
        start = as_utc(at).replace(microsecond=0) + _SECOND  # reverse: strictly before
        return as_utc(next(CronSim(self.cron, start, reverse=True)))

    def next_after(self, at: datetime) -> datetime:
        """The first scheduled time strictly after ``at``."""
        return as_utc(next(CronSim(self.cron, as_utc(at))))

    def between(self, after: datetime, until: datetime) -> Iterator[datetime]:
        """Scheduled times in ``(after, until]``, oldest first, lazily."""
        until = as_utc(until)
        for moment in CronSim(self.cron, as_utc(after)):
            moment = as_utc(moment)
            if moment > until:
                return
            yield moment

    def describe(self) -> str:
        """The expression in words (``"Every 30th minute of every hour"``), from cronsim."""
        try:
            return str(CronSim(self.cron, datetime(2025, 1, 1)).explain())
        except Exception:  # explain() covers most, not all, expressions
            return self.cron


def parse_catch_up(value: str | timedelta) -> CatchUp:
    """A catch-up policy from its written form: ``all``, ``latest`` or a window (``6h``, ``2d``).

    Example::

        parse_catch_up("6h")
        # datetime.timedelta(seconds=21600)
    """
    if isinstance(value, timedelta):
        if value <= timedelta(0):
            raise UsageError("a catch-up window must be positive", field="catch_up")
        return value
    if value in ("all", "latest"):
        return value  # type: ignore[return-value]  # narrowed by the test above
    units = {"m": "minutes", "h": "hours", "d": "days"}
    number, unit = value[:-1], value[-1:]
    try:
        window = timedelta(**{units[unit]: float(number)})
    except (KeyError, ValueError):
        raise UsageError(
            f"bad catch-up policy {value!r}",
            field="catch_up",
            rule="all, latest, or a window such as 30m, 6h, 2d",
        ) from None
    return parse_catch_up(window)
