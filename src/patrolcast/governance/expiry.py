"""Expiry as a pure function of UTC time: nothing is active after the instant.

A stored ``authorised`` proposal is *effectively* ``authorised`` before its start, ``active``
from its start (inclusive) to its end (exclusive), and ``expired`` from its end on, whether or not
any job ran at that instant. There is no silent renewal: only an extension decision moves the end.
"""

from __future__ import annotations

from datetime import datetime

from patrolcast.governance.clock import as_utc
from patrolcast.governance.states import State

__all__ = ["effective_state", "is_active"]


def effective_state(
    stored: State | str,
    start: datetime | None,
    end: datetime | None,
    now: datetime,
) -> State:
    """The state a proposal is in at ``now`` (UTC), derived from its stored state and window."""
    state = State(stored)
    if state is not State.AUTHORISED or start is None or end is None:
        return state
    now = as_utc(now)
    if now >= as_utc(end):
        return State.EXPIRED
    if now >= as_utc(start):
        return State.ACTIVE
    return State.AUTHORISED


def is_active(
    stored: State | str, start: datetime | None, end: datetime | None, now: datetime
) -> bool:
    """True only while ``start <= now < end`` for an authorised, uncancelled deployment."""
    return effective_state(stored, start, end, now) is State.ACTIVE
