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
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from patrolcast.errors import InputError

__all__ = [
    "Clock",
    "FixedClock",
    "SystemClock",
    "as_utc",
    "format_local",
    "parse_time",
]

LONDON = "Europe/London"


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


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"unknown time zone {name!r}") from None


def parse_time(text: str, *, zone: str = LONDON) -> datetime:
    """Parse an ISO 8601 time; without an offset it is wall-clock time in ``zone``.

    Parameters
    ----------
    text : e.g. ``"2026-03-29T00:30"``, ``"2026-10-25T01:30+01:00"``, ``"2026-06-01T12:00Z"``.
    zone : IANA zone for times given without an offset.

    Returns
    -------
    datetime : aware, in UTC.

    Raises
    ------
    InputError : unparseable text; a local time in the zone's spring-forward gap (it never
        happened); a local time in the autumn fold without an offset (it happened twice).
    """
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise InputError(
            f"cannot read time {text!r}: use ISO 8601, e.g. 2026-06-01T14:00"
        ) from None
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    tz = _zone(zone)
    first = parsed.replace(tzinfo=tz, fold=0)
    second = parsed.replace(tzinfo=tz, fold=1)
    if first.utcoffset() != second.utcoffset():
        # Either a gap (the time does not exist) or a fold (it exists twice).
        round_trip = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
        if round_trip != parsed:
            raise InputError(
                f"{text} does not exist in {zone} (clocks go forward then): give a valid time"
            )
        offsets = sorted({str(first.utcoffset()), str(second.utcoffset())})
        raise InputError(
            f"{text} happens twice in {zone} (clocks go back then): add the offset, "
            f"one of {' or '.join('+' + o[:-3].zfill(5) for o in offsets)}"
        )
    return first.astimezone(UTC)


def format_local(when: datetime, *, zone: str = LONDON) -> str:
    """An aware time shown as wall-clock time in ``zone`` with its offset."""
    return as_utc(when).astimezone(_zone(zone)).isoformat(timespec="minutes")


def elapsed_hours(start: datetime, end: datetime) -> float:
    """Elapsed hours between two aware times (UTC arithmetic, immune to clock changes)."""
    return (as_utc(end) - as_utc(start)).total_seconds() / 3600.0
