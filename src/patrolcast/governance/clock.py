"""The clock, passed in explicitly, and the parsing of wall-clock times.

Nothing in governance reads the system time deep inside: every service function takes a
:class:`Clock`. Times are stored in UTC; a wall-clock time in a named zone (Europe/London by
default) is accepted only when it is unambiguous: a time that does not exist (the spring-forward
gap) is rejected, and a time that occurs twice (the autumn fold, PEP 495) needs an explicit
UTC offset. Durations are elapsed time: a 24-hour authorisation lasts 24 hours of UTC time even
across a clock change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from patrolcast.errors import InputError
from patrolcast.local_time import LONDON, parse_time, zone_info

__all__ = [
    "Clock",
    "FixedClock",
    "SystemClock",
    "as_utc",
    "format_local",
    "parse_time",
]


class Clock(Protocol):
    """Anything with ``now()`` returning an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock (UTC)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A controllable clock for tests and replays: returns ``current`` until moved."""

    current: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    def __post_init__(self) -> None:
        self.current = as_utc(self.current)

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta`` (never backwards) and return the new time."""
        if delta < timedelta(0):
            raise InputError("a clock cannot go backwards")
        self.current = self.current + delta
        return self.current


def as_utc(when: datetime) -> datetime:
    """An aware datetime converted to UTC; a naive one is refused."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise InputError(f"time {when.isoformat()} has no zone: give a UTC offset")
    return when.astimezone(UTC)


def format_local(when: datetime, *, zone: str = LONDON) -> str:
    """An aware time shown as wall-clock time in ``zone`` with its offset."""
    return as_utc(when).astimezone(zone_info(zone)).isoformat(timespec="minutes")


def elapsed_hours(start: datetime, end: datetime) -> float:
    """Elapsed hours between two aware times (UTC arithmetic, immune to clock changes)."""
    return (as_utc(end) - as_utc(start)).total_seconds() / 3600.0
