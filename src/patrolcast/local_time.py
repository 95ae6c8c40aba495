"""Wall-clock times read by the one time rule, below every layer that needs them.

A time with an offset is that instant; without one it is wall-clock time in a named zone
(Europe/London by default), accepted only when unambiguous: a time in the spring-forward gap is
refused, and one in the autumn fold (PEP 495) needs its offset. Governance
(:mod:`patrolcast.governance.clock`), the application layer and evaluation all read times here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from patrolcast.errors import InputError

__all__ = ["LONDON", "parse_time", "zone_info"]

LONDON = "Europe/London"


def zone_info(name: str) -> ZoneInfo:
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
    tz = zone_info(zone)
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
