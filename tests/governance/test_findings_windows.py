"""Findings on windows: the authorised window lies in the requested one, the trigger is fresh
at the authorised start, the lead is capped, extensions follow, absurd durations are refused."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from patrolcast.errors import InputError
from patrolcast.governance import audit, service
from patrolcast.governance.profiles import load_profile
from patrolcast.governance.states import Refused, State
from patrolcast.governance.values import (
    MAX_WINDOW_HOURS,
    AuthorisationDetails,
    ExtensionDetails,
    ProposalDetails,
    duration_hours,
)
from tests.governance.helpers import World, authorisation, details, ndm, walk_to


def _authorise(world: World, pid: int, d: AuthorisationDetails, actor: str = "acc1") -> None:
    with world.session() as s:
        service.authorise(s, actor=actor, clock=world.clock, proposal_id=pid, details=d)


def _window(world: World, start_in: float, hours: float) -> AuthorisationDetails:
    return authorisation(world, hours=hours, start_in=start_in)


def _walk_with(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    d: ProposalDetails,
    target: State,
    **kw: float,
) -> int:
    """walk_to with these proposal details (the helper builds its own otherwise)."""
    from tests.governance import helpers

    monkeypatch.setattr(helpers, "details", lambda *a, **k: d)
    pid = walk_to(world, target, **kw)  # type: ignore[arg-type]
    monkeypatch.undo()
    return pid


def _aged(world: World, hours_ago: float, **kw: float) -> ProposalDetails:
    base = details(world, **kw)  # type: ignore[arg-type]
    occurred = world.clock.now() - timedelta(hours=hours_ago)
    return replace(base, trigger=replace(base.trigger, occurred_at=occurred))


def test_the_reviewed_case_a_window_years_ahead_is_refused(world: World) -> None:
    """`authorise --start 2031-06-01T12:00` on a proposal whose trigger was 2 h old."""
    pid = walk_to(world, State.CONSULTED)
    start = datetime(2031, 6, 1, 12, tzinfo=UTC)
    far = replace(authorisation(world), start=start, end=start + timedelta(hours=6))
    with pytest.raises(Refused) as err:
        _authorise(world, pid, far)
    assert err.value.rule == "requested-window"
    with world.session() as s:
        last = audit.read_entries(s)[-1]
    assert last.outcome == "denied" and last.detail_dict["rule"] == "requested-window"


def test_authorised_window_must_lie_inside_the_requested_window(world: World) -> None:
    pid = walk_to(world, State.CONSULTED, hours=6)  # requested: now .. now + 6 h
    for start_in, hours in ((0.0, 7.0), (1.0, 6.0), (-1.0, 2.0)):
        with pytest.raises(Refused) as err:
            _authorise(world, pid, _window(world, start_in, hours))
        assert err.value.rule in ("requested-window", "max-duration")
    # inside: a shorter window later in the request is fine
    _authorise(world, pid, _window(world, 2.0, 3.0))


def test_a_request_whose_start_is_past_the_trigger_limit_is_refused_at_submit(
    world: World,
) -> None:
    """An incident 20 h old, a request starting 6 h later: 26 h old at the start."""
    c = world.clock
    with world.session() as s:
        pid = service.propose(
            s, actor="ana", clock=c, details=_aged(world, 20, hours=8, start_in=6.0)
        ).proposal_id
        with pytest.raises(Refused, match="26.0 h old at the requested start") as err:
            service.submit(s, actor="ana", clock=c, proposal_id=pid)
    assert err.value.rule == "minimum-trigger"


def test_trigger_age_at_start_refuses_authorisation_later_in_the_request(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Requested window 0..8 h, trigger 20 h old: a start at +5 h would be 25 h after it."""
    pid = _walk_with(world, monkeypatch, _aged(world, 20, hours=8), State.CONSULTED)
    with pytest.raises(Refused, match="25.0 h old at the authorised start") as err:
        _authorise(world, pid, _window(world, 5.0, 3.0))
    assert err.value.rule == "minimum-trigger"
    _authorise(world, pid, _window(world, 3.0, 4.0))  # 23 h at the start: accepted


def test_lead_time_is_capped_by_the_profile(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    lead = load_profile("armed-foot-patrol").max_lead_hours
    # a trigger 30 min old would still be fresh at the start (13.5 h < 24 h), but the start
    # is further ahead than the profile allows an authorisation to be made
    d = _aged(world, 0.5, hours=4, start_in=lead + 1)
    pid = _walk_with(world, monkeypatch, d, State.CONSULTED)
    with pytest.raises(Refused, match=f"allows {lead:g} h") as err:
        _authorise(world, pid, _window(world, lead + 1, 4.0))
    assert err.value.rule == "max-lead"


def test_extension_respects_the_lead_rule(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Extending an authorised window that ends beyond the lead cap is deciding too early."""
    c = world.clock
    d = _aged(world, 1, hours=8, start_in=10.0)
    pid = _walk_with(world, monkeypatch, d, State.AUTHORISED, hours=8, start_in=10.0)
    with world.session() as s:
        end = service.read_proposal(s, actor="aud", clock=c, proposal_id=pid).authorised_end
        assert end is not None
        with pytest.raises(Refused) as err:
            service.extend(
                s,
                actor="acc2",
                clock=c,
                proposal_id=pid,
                details=ExtensionDetails(end + timedelta(hours=2), "More violence.", ndm()),
            )
    assert err.value.rule == "max-lead"
    # once the deployment is under way, the same extension is in time
    c.advance(timedelta(hours=12))
    with world.session() as s:
        r = service.extend(
            s,
            actor="acc2",
            clock=c,
            proposal_id=pid,
            details=ExtensionDetails(end + timedelta(hours=2), "More violence.", ndm()),
        )
    assert r.to_state is State.ACTIVE


def test_extension_refused_when_the_trigger_was_stale_at_the_authorised_start(
    world: World,
) -> None:
    """A deployment authorised before the rule (legacy row) on a stale trigger cannot be
    extended: the extension re-checks the trigger at the authorised start."""
    from patrolcast.governance.models import Proposal

    pid = walk_to(world, State.ACTIVE, hours=6)
    with world.session() as s:
        p = s.get(Proposal, pid)
        assert p is not None and p.incident_at is not None
        p.incident_at = p.incident_at - timedelta(hours=30)
        s.flush()
        audit.append(
            s,
            actor="admin",
            action="legacy_fixture",
            target_type="proposal",
            target_id=pid,
            outcome="done",
            detail={},
            now=world.clock.now(),
        )
        s.commit()
        end = service.read_proposal(s, actor="aud", clock=world.clock, proposal_id=pid)
        assert end.authorised_end is not None
        with pytest.raises(Refused, match="minimum-trigger"):
            service.extend(
                s,
                actor="acc2",
                clock=world.clock,
                proposal_id=pid,
                details=ExtensionDetails(
                    end.authorised_end + timedelta(hours=2), "More violence.", ndm()
                ),
            )


@pytest.mark.parametrize("hours", [float("nan"), float("inf"), -1.0, 0.0, 1e12, "x", True])
def test_absurd_durations_are_input_errors(hours: object) -> None:
    with pytest.raises(InputError):
        duration_hours(hours)
    assert duration_hours(2.5) == timedelta(hours=2.5)


def test_absurd_windows_are_input_errors(world: World) -> None:
    now = world.clock.now()
    with pytest.raises(InputError, match="longer than"):
        AuthorisationDetails(
            start=now,
            end=now + timedelta(hours=MAX_WINDOW_HOURS + 1),
            reasons="Grounds met.",
            ndm=ndm(),
        )
    with pytest.raises(InputError, match="between 2000 and 2100"):
        AuthorisationDetails(
            start=datetime(9999, 1, 1, tzinfo=UTC),
            end=datetime(9999, 1, 2, tzinfo=UTC),
            reasons="Grounds met.",
            ndm=ndm(),
        )
    with pytest.raises(InputError, match="between 2000 and 2100"):
        ExtensionDetails(datetime(9999, 12, 31, tzinfo=UTC), "More.", ndm())
    base = details(world)
    with pytest.raises(InputError, match="date and time"):
        ProposalDetails(
            trigger=base.trigger,
            area=base.area,
            start="tomorrow",  # type: ignore[arg-type]
            end=base.end,
            ndm=base.ndm,
        )
