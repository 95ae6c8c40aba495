"""Time: authorisations across Europe/London clock changes last exactly their elapsed hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from patrolcast.errors import InputError
from patrolcast.governance import service
from patrolcast.governance.clock import FixedClock, elapsed_hours, format_local, parse_time
from patrolcast.governance.expiry import effective_state
from patrolcast.governance.states import State
from patrolcast.governance.values import AuthorisationDetails
from tests.governance.helpers import authorisation, make_world, ndm, sqlite_url, walk_to


@pytest.mark.parametrize(
    ("local_start", "hours", "local_end"),
    [
        # March 2026: clocks go forward at 01:00 GMT on Sunday 29 March.
        ("2026-03-28T22:00", 8, "2026-03-29T07:00+01:00"),
        ("2026-03-29T00:30", 24, "2026-03-30T01:30+01:00"),
        # October 2026: clocks go back at 02:00 BST on Sunday 25 October.
        ("2026-10-24T22:00", 8, "2026-10-25T05:00+00:00"),
        ("2026-10-25T00:30", 24, "2026-10-25T23:30+00:00"),
    ],
)
def test_authorisation_spanning_clock_change_lasts_elapsed_hours(
    tmp_path: object, local_start: str, hours: int, local_end: str
) -> None:
    start = parse_time(local_start)
    world = make_world(sqlite_url(tmp_path, "dst.db"), FixedClock(start))  # type: ignore[arg-type]
    profile = "s60-statutory" if hours > 8 else "armed-foot-patrol"
    from tests.governance.helpers import details

    with world.session() as s:
        pid = service.propose(
            s,
            actor="ana",
            clock=world.clock,
            details=details(world, hours=hours, profile=profile),
        ).proposal_id
    # walk the rest of the way with the same helper steps
    from patrolcast.governance.values import ConsultationDetails

    c = world.clock
    with world.session() as s:
        service.submit(s, actor="ana", clock=c, proposal_id=pid)
        service.record_assessment(s, actor="cat", clock=c, proposal_id=pid, payload={"a": 1})
        service.assess(s, actor="cat", clock=c, proposal_id=pid)
        for who, b in (("bob1", "E09000001"), ("bob2", "E09000002")):
            service.consult(
                s,
                actor=who,
                clock=c,
                proposal_id=pid,
                details=ConsultationDetails(b, "support", "ok"),
            )
        d = AuthorisationDetails(
            start=start,
            end=start + timedelta(hours=hours),
            reasons="r",
            ndm=ndm(),
            tactical_commander="tfc",
            strategic_commander="sfc",
            public_notice="n",
        )
        service.authorise(s, actor="acc1", clock=c, proposal_id=pid, details=d)
        view = service.read_proposal(s, actor="aud", clock=c, proposal_id=pid)
    assert view.authorised_start is not None and view.authorised_end is not None
    assert elapsed_hours(view.authorised_start, view.authorised_end) == hours
    assert format_local(view.authorised_end) == local_end
    # active one microsecond before the end, expired at the instant, by pure function
    end = view.authorised_end
    assert (
        effective_state("authorised", start, end, end - timedelta(microseconds=1)) is State.ACTIVE
    )
    assert effective_state("authorised", start, end, end) is State.EXPIRED


def test_gap_times_rejected_fold_times_need_offset() -> None:
    for text in ("2026-03-29T01:00", "2026-03-29T01:30", "2026-03-29T01:59"):
        with pytest.raises(InputError, match="does not exist"):
            parse_time(text)
    for text in ("2026-10-25T01:00", "2026-10-25T01:30", "2026-10-25T01:59"):
        with pytest.raises(InputError, match="twice"):
            parse_time(text)
    first = parse_time("2026-10-25T01:30+01:00")
    second = parse_time("2026-10-25T01:30+00:00")
    assert second - first == timedelta(hours=1)
    assert parse_time("2026-10-25T02:00") == datetime(2026, 10, 25, 2, 0, tzinfo=UTC)
    assert parse_time("2026-03-29T02:00") == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_naive_times_never_reach_the_database(tmp_path: object) -> None:
    world = make_world(sqlite_url(tmp_path, "naive.db"))  # type: ignore[arg-type]
    with pytest.raises(InputError, match="no zone"):
        AuthorisationDetails(
            start=datetime(2026, 6, 1, 12), end=datetime(2026, 6, 1, 14), reasons="r", ndm=ndm()
        )
    pid = walk_to(world, State.CONSULTED, hours=8)  # the authorisation lies inside the request
    with world.session() as s:
        service.authorise(
            s,
            actor="acc1",
            clock=world.clock,
            proposal_id=pid,
            details=authorisation(world, hours=8),
        )
        view = service.read_proposal(s, actor="aud", clock=world.clock, proposal_id=pid)
    assert view.authorised_start is not None and view.authorised_start.tzinfo is not None
    assert view.authorised_start.utcoffset() == timedelta(0)
