"""The clock: the one source of "now" for every job.

Real time in production; an accelerated replay of history for demos and operational backtests;
a fixed time in tests. Every "now" is a timezone-aware UTC datetime.

Example::

    clock = ReplayClock(start=datetime(2024, 1, 1, tzinfo=UTC), speed=3600)
    clock.now()  # one simulated hour per real second since the clock was made
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from datetime import UTC, datetime, timedelta

__all__ = ["Clock", "FixedClock", "RealClock", "ReplayClock", "as_utc"]


def as_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime (a naive value is taken to be UTC already).

    A moment whose UTC time falls outside the years 1 to 9999 (``0001-01-01T00:00+05:00``)
    cannot be held by a datetime: a ``ValueError`` saying so, never an ``OverflowError``.
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(
            f"{value.isoformat()} is outside the years 1 to 9999 once expressed in UTC"
        ) from None


class Clock(ABC):
    """Where "now" comes from."""

    @abstractmethod
    def now(self) -> datetime:
        """The current time, aware, in UTC."""

    def describe(self) -> str:
        return type(self).__name__


class RealClock(Clock):
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def describe(self) -> str:
        return "real time"


class ReplayClock(Clock):
    """History replayed from ``start``, ``speed`` simulated seconds per real second.

    ``origin`` is the real (epoch) time at which the replay began; keep it to resume a replay
    across processes (the project stores it in its state folder).
    """

    def __init__(self, start: datetime, speed: float = 1.0, origin: float | None = None) -> None:
        if speed <= 0:
            raise ValueError(f"replay speed must be > 0, got {speed}")
        self.start = as_utc(start)
        self.speed = speed
        self.origin = time.time() if origin is None else origin

    def now(self) -> datetime:
        elapsed = max(0.0, time.time() - self.origin)
        return self.start + timedelta(seconds=elapsed * self.speed)

    def describe(self) -> str:
        return f"replay from {self.start.isoformat()} at {self.speed:g}x"


class FixedClock(Clock):
    """A clock that says what it is told: for tests and for runs "as of" a moment."""

    def __init__(self, at: datetime) -> None:
        self.at = as_utc(at)

    def now(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta

    def describe(self) -> str:
        return f"fixed at {self.at.isoformat()}"
