"""Sharp tests of the lifecycle (lifecycle.py) and its services (service.py).

Written for the governance-lifecycle mutation run (scripts/mutation.sh), where they stand in for
the hypothesis state machine (tests/governance/test_state_machine.py, about 15 s a run, kept in
the default test run): each attempted transition adds exactly one audit entry, ``done`` with
its from/to state and version or ``denied`` naming the rule; what each action writes; the
consultation that advances only once every borough has answered; the all-or-nothing steps.
Each test starts from a copy of one prepared SQLite database (people and a snapshot), so it
runs in well under a second.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from patrolcast.errors import ConflictError, InputError, PermissionDenied
from patrolcast.governance import audit, service
from patrolcast.governance.clock import FixedClock
from patrolcast.governance.db import open_database
from patrolcast.governance.lifecycle import transition
from patrolcast.governance.models import (
    CommunityImpactAssessment,
    Consultation,
    Debrief,
    Decision,
    Person,
    Proposal,
    Review,
)
from patrolcast.governance.states import Action, InvalidTransition, Refused, StaleProposal, State
from patrolcast.governance.values import (
    CancellationDetails,
    ConsultationDetails,
    DebriefDetails,
    ExtensionDetails,
    RefusalDetails,
    ReviewDetails,
)
from tests.governance.helpers import (
    T0,
    World,
    authorisation,
    details,
    make_world,
    ndm,
    sqlite_url,
    walk_to,
)

_TEMPLATE: list[Path] = []


def _template() -> Path:
    if not _TEMPLATE:
        tmp = Path(tempfile.mkdtemp(prefix="gov-mut-lc-"))
        world = make_world(sqlite_url(tmp, "template.db"), FixedClock(T0))
        world.db.dispose()
        _TEMPLATE.append(tmp / "template.db")
    return _TEMPLATE[0]


@pytest.fixture()
def w(tmp_path: Path) -> Iterator[World]:
    """The test world (people, a snapshot) copied from a database prepared once."""
    path = tmp_path / "gov.db"
    with sqlite3.connect(_template()) as a, sqlite3.connect(path) as b:
        a.backup(b)
    db = open_database(f"sqlite:///{path}", create=False, sqlite_synchronous="OFF")
    world = World(db=db, clock=FixedClock(T0), snapshot_id=1)
    yield world
    db.dispose()


def _entries_after(world: World, seq: int) -> list[audit.AuditRecord]:
    with world.session() as s:
        return [e for e in audit.read_entries(s) if e.seq > seq]


def _head(world: World) -> int:
    with world.session() as s:
        return audit.checkpoint(s).seq


def _attempt(
    world: World, action: Action, actor: str, pid: int | None, d: Any = None, **kw: Any
) -> tuple[Any, audit.AuditRecord]:
    """One transition attempt; returns (result or the error, the one entry it added)."""
    before = _head(world)
    with world.session() as s:
        try:
            out: Any = transition(
                s, action=action, actor=actor, clock=world.clock, proposal_id=pid, details=d, **kw
            )
        except (PermissionDenied, ConflictError, InputError) as exc:
            out = exc
    added = _entries_after(world, before)
    assert len(added) == 1, [(e.action, e.outcome) for e in added]
    assert added[0].target_type == "proposal"  # done or denied, every attempt is on a proposal
    return out, added[0]


# --- every attempt: exactly one entry ------------------------------------------------------


def test_each_successful_transition_adds_one_done_entry_with_its_states(w: World) -> None:
    c = w.clock
    r, e = _attempt(w, Action.PROPOSE, "ana", None, details(w, start_in=1.0))
    pid = r.proposal_id
    assert (r.from_state, r.to_state, r.audit_seq) == (State.NEW, State.DRAFT, e.seq)
    v = r.version
    with w.session() as s:
        row = s.get(Proposal, pid)
        assert row is not None and row.version == v and row.state == "draft"
    assert r.at == c.now() and r.action is Action.PROPOSE
    assert (e.actor, e.action, e.target_type, e.target_id, e.outcome) == (
        "ana",
        "propose",
        "proposal",
        str(pid),
        "done",
    )
    d = e.detail_dict
    assert (d["from"], d["to"], d["version"], d["profile"], d["trigger"]) == (
        "new",
        "draft",
        v,
        "armed-foot-patrol",
        "incident",
    )
    assert d["boroughs"] == ["E09000001", "E09000002"] and d["snapshot_id"] == 1
    assert d["area_km2"] == 0.25 and d["profile_version"] and len(d["profile_sha256"]) == 64
    r, e = _attempt(w, Action.SUBMIT, "ana", pid)
    assert (r.from_state, r.to_state, r.version) == (State.DRAFT, State.SUBMITTED, v + 1)
    assert {k: e.detail_dict[k] for k in ("from", "to", "version")} == {
        "from": "draft",
        "to": "submitted",
        "version": v + 1,
    }
    assert r.to_dict() == {
        "proposal_id": pid,
        "action": "submit",
        "from_state": "draft",
        "to_state": "submitted",
        "version": v + 1,
        "audit_seq": e.seq,
        "at": c.now().isoformat(),
    }


def _version(world: World, pid: int) -> int:
    with world.session() as s:
        p = s.get(Proposal, pid)
        assert p is not None
        return p.version


def test_each_refused_attempt_adds_one_denied_entry_naming_its_rule(w: World) -> None:
    pid = walk_to(w, State.DRAFT)
    v = _version(w, pid)
    # an unknown user: the name as the log writes it
    err, e = _attempt(w, Action.SUBMIT, "Nobody", pid)
    assert isinstance(err, Refused) and err.rule == "unknown-user"
    assert (e.actor, e.action, e.target_id, e.outcome) == ("nobody", "submit", str(pid), "denied")
    assert e.detail_dict == {
        "rule": "unknown-user",
        "reason": "nobody is not a user of this system",
        "state": None,
    }
    # no such proposal
    err, e = _attempt(w, Action.SUBMIT, "ana", 999)
    assert isinstance(err, InputError) and str(err) == "no proposal #999"
    assert (e.actor, e.target_id, e.outcome) == ("ana", "999", "denied")
    assert e.detail_dict == {"rule": "not-found", "reason": "no proposal #999", "state": None}
    # a stale version
    err, e = _attempt(w, Action.SUBMIT, "ana", pid, expected_version=v + 5)
    assert isinstance(err, StaleProposal) and err.rule == "stale-version"
    assert e.detail_dict["rule"] == "stale-version" and e.detail_dict["state"] == "draft"
    assert e.detail_dict["reason"] == (
        f"proposal #{pid} changed since version {v + 5} (now version {v}, draft): reload and retry"
    )
    # a state that does not allow the action
    err, e = _attempt(w, Action.AUTHORISE, "acc1", pid, authorisation(w))
    assert isinstance(err, InvalidTransition) and err.rule == "invalid-transition"
    assert e.detail_dict == {
        "rule": "invalid-transition",
        "reason": f"cannot authorise proposal #{pid}: it is draft (only from consulted)",
        "state": "draft",
    }
    # a permission guard
    err, e = _attempt(w, Action.SUBMIT, "cat", pid)
    assert isinstance(err, Refused) and e.detail_dict["rule"] == err.rule
    assert e.detail_dict["reason"] == err.reason and e.detail_dict["state"] == "draft"
    # the proposal did not move
    with w.session() as s:
        p = s.get(Proposal, pid)
        assert p is not None and (p.state, p.version) == ("draft", v)
    # the right person, the right version: it moves
    r, e = _attempt(w, Action.SUBMIT, "ana", pid, expected_version=v)
    assert r.to_state is State.SUBMITTED and e.outcome == "done"


def test_an_invalid_propose_names_no_proposal_and_every_allowed_state(w: World) -> None:
    pid = walk_to(w, State.DRAFT)
    err, e = _attempt(w, Action.CANCEL, "acc1", pid, CancellationDetails("Grounds lapsed."))
    assert err.reason == (
        f"cannot cancel proposal #{pid}: it is draft (only from active, authorised)"
    )
    with w.session() as s, pytest.raises(InputError, match="debrief needs a proposal id"):
        transition(
            s,
            action=Action.DEBRIEF,
            actor="tfc",
            clock=w.clock,
            proposal_id=None,
            details=DebriefDetails("S.", "Signed."),
        )


def test_details_of_the_wrong_type_are_refused_before_anything(w: World) -> None:
    before = _head(w)
    with w.session() as s, pytest.raises(InputError, match="authorise needs AuthorisationDetails"):
        transition(
            s,
            action=Action.AUTHORISE,
            actor="acc1",
            clock=w.clock,
            proposal_id=1,
            details=RefusalDetails("No."),
        )
    assert _head(w) == before


def test_consultation_advances_only_once_every_borough_has_answered(w: World) -> None:
    pid = walk_to(w, State.ASSESSED)
    r, e = _attempt(
        w, Action.CONSULT, "bob1", pid, ConsultationDetails("E09000001", "support", "Agreed.")
    )
    assert (r.from_state, r.to_state) == (State.ASSESSED, State.ASSESSED)
    assert e.detail_dict["to"] == "assessed" and e.detail_dict["borough"] == "E09000001"
    assert e.detail_dict["position"] == "support"
    r, e = _attempt(
        w, Action.CONSULT, "bob2", pid, ConsultationDetails("E09000002", "object", "Tension high.")
    )
    assert (r.from_state, r.to_state) == (State.ASSESSED, State.CONSULTED)
    with w.session() as s:
        rows = (
            s.execute(
                select(Consultation)
                .where(Consultation.proposal_id == pid)
                .order_by(Consultation.id)
            )
            .scalars()
            .all()
        )
        assert [(c.borough, c.position, c.reasons) for c in rows] == [
            ("E09000001", "support", "Agreed."),
            ("E09000002", "object", "Tension high."),
        ]
        assert rows[0].recorded_at == w.clock.now()


# --- what each action writes ----------------------------------------------------------------


def _decisions(world: World, pid: int) -> list[Decision]:
    with world.session() as s:
        return list(
            s.execute(
                select(Decision).where(Decision.proposal_id == pid).order_by(Decision.id)
            ).scalars()
        )


def test_authorise_extend_cancel_debrief_review_write_their_records(w: World) -> None:
    pid = walk_to(w, State.CONSULTED)
    c = w.clock
    auth = authorisation(w, hours=6.0)
    r, e = _attempt(w, Action.AUTHORISE, "acc1", pid, auth)
    assert r.to_state is State.AUTHORISED
    assert {k: e.detail_dict[k] for k in ("start", "end", "rank")} == {
        "start": auth.start.isoformat(),
        "end": auth.end.isoformat(),
        "rank": "assistant_chief_constable",
    }
    [d] = _decisions(w, pid)
    assert (d.kind, d.window_start, d.window_end, d.reasons, d.rank) == (
        "authorise",
        auth.start,
        auth.end,
        auth.reasons,
        "assistant_chief_constable",
    )
    assert d.details == {
        "tactical_commander": "tfc",
        "strategic_commander": "sfc",
        "public_notice": auth.public_notice,
        "objection_response": None,
    }
    assert d.ndm_rationale == ndm().to_dict() and d.decided_at == c.now()
    with w.session() as s:
        p = s.get(Proposal, pid)
        assert p is not None
        acc1 = p.authorised_by_id
        assert (p.authorised_start, p.authorised_end, p.state) == (
            auth.start,
            auth.end,
            "authorised",
        )
    assert acc1 == d.decided_by_id
    c.advance(timedelta(hours=2))  # active now
    new_end = auth.end + timedelta(hours=2)
    r, e = _attempt(
        w, Action.EXTEND, "acc2", pid, ExtensionDetails(new_end, "Further stabbing.", ndm())
    )
    assert (r.from_state, r.to_state) == (State.ACTIVE, State.ACTIVE)
    assert {k: e.detail_dict[k] for k in ("extension", "old_end", "new_end", "rank", "to")} == {
        "extension": 1,
        "old_end": auth.end.isoformat(),
        "new_end": new_end.isoformat(),
        "rank": "assistant_chief_constable",
        "to": "active",
    }
    ext = _decisions(w, pid)[-1]
    assert (ext.kind, ext.window_start, ext.window_end, ext.details) == (
        "extend",
        auth.end,
        new_end,
        {"extension": 1},
    )
    assert ext.ndm_rationale == ndm().to_dict() and ext.reasons == "Further stabbing."
    with w.session() as s:
        p = s.get(Proposal, pid)
        assert p is not None and (p.authorised_end, p.extensions_used, p.state) == (
            new_end,
            1,
            "authorised",
        )
    r, e = _attempt(w, Action.CANCEL, "acc1", pid, CancellationDetails("Suspect arrested."))
    assert (r.from_state, r.to_state) == (State.ACTIVE, State.CANCELLED)
    assert e.detail_dict["reasons"] == "Suspect arrested."
    assert _decisions(w, pid)[-1].kind == "cancel"
    with w.session() as s:
        p = s.get(Proposal, pid)
        assert p is not None and p.cancelled_at == c.now() and p.state == "cancelled"
    r, e = _attempt(
        w, Action.DEBRIEF, "tfc", pid, DebriefDetails("No incidents.", "Signed: tfc", {"stops": 2})
    )
    assert e.detail_dict["signed_off_by"] == "tfc" and r.to_state is State.DEBRIEFED
    with w.session() as s:
        [db] = s.execute(select(Debrief).where(Debrief.proposal_id == pid)).scalars()
        assert (db.summary, db.details) == (
            "No incidents.",
            {"sign_off": "Signed: tfc", "outcome": {"stops": 2}},
        )
        assert db.signed_off_at == c.now()
    r, e = _attempt(w, Action.REVIEW, "sfc2", pid, ReviewDetails("Proportionate."))
    assert r.to_state is State.REVIEWED and e.detail_dict["to"] == "reviewed"
    with w.session() as s:
        [rv] = s.execute(select(Review).where(Review.proposal_id == pid)).scalars()
        assert rv.findings == "Proportionate." and rv.reviewed_at == c.now()
        assert audit.verify(s).ok


def test_refuse_writes_a_refusal_decision(w: World) -> None:
    pid = walk_to(w, State.CONSULTED)
    r, e = _attempt(w, Action.REFUSE, "acc1", pid, RefusalDetails("Not corroborated."))
    assert (r.from_state, r.to_state) == (State.CONSULTED, State.REFUSED)
    assert {k: e.detail_dict[k] for k in ("reasons", "rank")} == {
        "reasons": "Not corroborated.",
        "rank": "assistant_chief_constable",
    }
    [d] = _decisions(w, pid)
    assert (d.kind, d.reasons, d.window_start) == ("refuse", "Not corroborated.", None)


def test_assess_records_the_completed_assessment_it_rests_on(w: World) -> None:
    pid = walk_to(w, State.SUBMITTED)
    with w.session() as s:
        first = service.record_assessment(
            s,
            actor="cat",
            clock=w.clock,
            proposal_id=pid,
            payload={"summary": "draft"},
            complete=False,
        )
        done = service.record_assessment(
            s, actor="cat", clock=w.clock, proposal_id=pid, payload={"summary": "final"}
        )
    assert done > first
    r, e = _attempt(w, Action.ASSESS, "cat", pid)
    assert r.to_state is State.ASSESSED and e.detail_dict["assessment_id"] == done


# --- all or nothing ---------------------------------------------------------------------------


def test_a_refused_step_keeps_nothing_but_one_denial(w: World) -> None:
    """propose(submit_now=True) whose submission is refused leaves no draft; assess_with whose
    assessment is refused keeps no assessment: one denied entry says it was rolled back."""
    before = _head(w)
    with w.session() as s:
        n = s.query(Proposal).count()
        with pytest.raises(Refused) as err:
            service.propose(
                s, actor="ana", clock=w.clock, details=details(w, start_in=100.0), submit_now=True
            )
        assert s.query(Proposal).count() == n
    [e] = _entries_after(w, before)
    assert (e.actor, e.action, e.target_id, e.outcome) == ("ana", "propose", "-", "denied")
    assert e.target_type == "proposal"
    assert e.detail_dict == {
        "rule": err.value.rule,
        "reason": err.value.reason,
        "rolled_back": True,
    }
    pid = walk_to(w, State.SUBMITTED)
    before = _head(w)
    with w.session() as s, pytest.raises(Refused) as err:
        service.assess_with(
            s, actor="ana", clock=w.clock, proposal_id=pid, payload={"summary": "mine"}
        )
    [e] = _entries_after(w, before)
    assert (e.action, e.target_id, e.outcome) == ("assess", str(pid), "denied")
    assert e.detail_dict == {"rule": "role", "reason": err.value.reason, "rolled_back": True}
    with w.session() as s:
        assert s.query(CommunityImpactAssessment).filter_by(proposal_id=pid).count() == 0
    with w.session() as s:
        r = service.assess_with(
            s,
            actor="cat",
            clock=w.clock,
            proposal_id=pid,
            payload={"summary": "fine"},
            expected_version=_version(w, pid),
        )
        assert s.query(CommunityImpactAssessment).filter_by(proposal_id=pid).count() == 1
    assert r.to_state is State.ASSESSED


def test_propose_and_submit_at_once_commits_both(w: World) -> None:
    before = _head(w)
    with w.session() as s:
        r = service.propose(
            s, actor="ana", clock=w.clock, details=details(w, start_in=1.0), submit_now=True
        )
    assert r.action is Action.SUBMIT and r.to_state is State.SUBMITTED
    assert [(e.action, e.outcome) for e in _entries_after(w, before)] == [
        ("propose", "done"),
        ("submit", "done"),
    ]


def test_a_composed_step_refused_as_bad_input_is_recorded_as_input(w: World) -> None:
    """``run_atomically`` with a step that fails on input (no such proposal): nothing is kept
    but one denial, whose rule is ``input`` and whose reason is the error's text."""
    from patrolcast.governance.lifecycle import apply_in_transaction, run_atomically

    before = _head(w)
    with w.session() as s, pytest.raises(InputError, match="no proposal #999"):
        run_atomically(
            s,
            actor="ana",
            action="submit",
            now=w.clock.now(),
            proposal_id=999,
            steps=(
                lambda _: apply_in_transaction(
                    s, action=Action.SUBMIT, actor="ana", now=w.clock.now(), proposal_id=999
                ),
            ),
        )
    [e] = _entries_after(w, before)
    assert (e.action, e.target_id, e.outcome) == ("submit", "999", "denied")
    assert e.detail_dict == {"rule": "input", "reason": "no proposal #999", "rolled_back": True}


# --- the services: reads, views, the export ------------------------------------------------


def test_the_refuse_service_refuses_a_proposal(w: World) -> None:
    pid = walk_to(w, State.CONSULTED)
    with w.session() as s:
        r = service.refuse(
            s,
            actor="acc1",
            clock=w.clock,
            proposal_id=pid,
            details=RefusalDetails("Not corroborated."),
        )
        assert r.to_state is State.REFUSED and r.action is Action.REFUSE
        with pytest.raises(StaleProposal):
            service.refuse(
                s,
                actor="acc1",
                clock=w.clock,
                proposal_id=pid,
                details=RefusalDetails("Again."),
                expected_version=r.version - 1,
            )


def test_a_view_shows_the_proposal_its_consultations_and_decisions(w: World) -> None:
    pid = walk_to(w, State.ACTIVE)
    c = w.clock
    c.advance(timedelta(hours=1))
    with w.session() as s:
        service.cancel(
            s,
            actor="acc1",
            clock=c,
            proposal_id=pid,
            details=CancellationDetails("Suspect arrested."),
        )
        v = service.read_proposal(s, actor="aud", clock=c, proposal_id=pid)
        p = s.get(Proposal, pid)
        assert p is not None
    assert (v.id, v.version, v.profile, v.stored_state, v.state) == (
        pid,
        p.version,
        "armed-foot-patrol",
        "cancelled",
        State.CANCELLED,
    )
    assert v.proposer == "ana" and v.snapshot_id == 1 and v.extensions_used == 0
    assert (v.authorised_start, v.authorised_end, v.cancelled_at) == (
        T0,
        T0 + timedelta(hours=6),
        c.now(),
    )
    assert v.trigger == {
        "type": "incident",
        "offence": "serious_assault",
        "place": "Example Road",
        "occurred_at": (T0 - timedelta(hours=2)).isoformat(),
    }
    assert (v.requested_start, v.requested_end) == (T0, T0 + timedelta(hours=6))
    assert v.boroughs == ("E09000001", "E09000002") and v.ndm_rationale == ndm().to_dict()
    assert [
        (x["borough"], x["position"], x["reasons"], x["commander"], x["at"])
        for x in v.consultations
    ] == [
        ("E09000001", "support", "Agreed; notify IAG.", "bob1", T0.isoformat()),
        ("E09000002", "support", "Agreed; notify IAG.", "bob2", T0.isoformat()),
    ]
    assert [(x["kind"], x["by"], x["rank"], x["reasons"]) for x in v.decisions] == [
        ("authorise", "acc1", "assistant_chief_constable", "Grounds met; proportionate."),
        ("cancel", "acc1", "assistant_chief_constable", "Suspect arrested."),
    ]
    assert v.decisions[0]["start"] == v.authorised_start.isoformat()  # type: ignore[union-attr]
    assert v.decisions[0]["end"] == v.authorised_end.isoformat()  # type: ignore[union-attr]
    assert v.decisions[1]["start"] is None and v.decisions[1]["at"] == c.now().isoformat()
    doc = v.to_dict()
    assert (doc["profile"], doc["state"], doc["stored_state"]) == (
        "armed-foot-patrol",
        "cancelled",
        "cancelled",
    )
    assert doc["cancelled_at"] == c.now().isoformat() and doc["decisions"] == list(v.decisions)
    assert doc["consultations"] == list(v.consultations) and doc["area_km2"] == 0.25
    assert service.ProposalView.from_dict(doc) == v


def test_a_view_read_back_from_its_dict_without_optional_parts(w: World) -> None:
    """An API client's minimal dict: absent optional parts read as empty or None."""
    doc = {
        "id": 3,
        "version": 2,
        "profile": "s60-statutory",
        "state": "draft",
        "proposer": "ana",
        "area_km2": 1.5,
        "requested_start": T0.isoformat(),
        "requested_end": (T0 + timedelta(hours=4)).isoformat(),
    }
    v = service.ProposalView.from_dict(doc)
    assert (v.id, v.version, v.stored_state, v.state) == (3, 2, "draft", State.DRAFT)
    assert v.requested_end == T0 + timedelta(hours=4)
    assert (v.trigger, v.decisions, v.consultations, v.cancelled_at, v.authorised_start) == (
        {},
        (),
        (),
        None,
        None,
    )
    assert (v.profile, v.proposer, v.area_km2, v.area_wkt, v.boroughs) == (
        "s60-statutory",
        "ana",
        1.5,
        "",
        (),
    )
    assert (v.authorised_end, v.extensions_used, v.snapshot_id, v.ndm_rationale) == (
        None,
        0,
        None,
        {},
    )
    assert v.requested_start == T0 and not v.active


def test_a_view_read_back_from_a_dict_with_local_times_is_in_utc() -> None:
    """Times an API client sends with a UTC offset are read back as the same instants in
    UTC; the optional parts given are kept."""
    doc = {
        "id": 4,
        "version": 7,
        "profile": "armed-foot-patrol",
        "state": "active",
        "stored_state": "authorised",
        "proposer": "ana",
        "area_km2": 0.25,
        "area_wkt": "POLYGON ((0 0, 1 0, 1 1, 0 0))",
        "boroughs": ["E09000001"],
        "requested_start": "2026-06-01T13:00:00+01:00",
        "requested_end": "2026-06-01T19:00:00+01:00",
        "authorised_start": "2026-06-01T13:00:00+01:00",
        "authorised_end": "2026-06-01T19:00:00+01:00",
        "cancelled_at": "2026-06-01T14:00:00+01:00",
        "extensions_used": 2,
        "snapshot_id": 9,
        "ndm_rationale": {"code_of_ethics": "x"},
        "trigger": {"type": "incident"},
    }
    v = service.ProposalView.from_dict(doc)
    assert (v.requested_start, v.authorised_start) == (T0, T0)
    assert (v.requested_end, v.authorised_end) == (T0 + timedelta(hours=6),) * 2
    assert v.cancelled_at == T0 + timedelta(hours=1)
    assert all(
        t is not None and t.utcoffset() == timedelta(0)
        for t in (
            v.requested_start,
            v.requested_end,
            v.authorised_start,
            v.authorised_end,
            v.cancelled_at,
        )
    )
    assert (v.state, v.stored_state, v.active) == (State.ACTIVE, "authorised", True)
    assert (v.extensions_used, v.snapshot_id, v.boroughs, v.area_wkt) == (
        2,
        9,
        ("E09000001",),
        "POLYGON ((0 0, 1 0, 1 1, 0 0))",
    )
    assert (v.ndm_rationale, v.trigger) == ({"code_of_ethics": "x"}, {"type": "incident"})


def test_an_intelligence_trigger_is_shown_by_item_and_grade(w: World) -> None:
    from dataclasses import replace

    from patrolcast.governance.values import Trigger
    from patrolcast.oversight.intel_store import record_item
    from patrolcast.oversight.intelligence import Place

    now = w.clock.now()
    with w.session() as s:
        item = record_item(
            s,
            actor="ian",
            clock=w.clock,
            place=Place(x=530200.0, y=175200.0, radius_m=200.0),
            start=now,
            end=now + timedelta(hours=12),
            grading="1B P",
            owner="Unit",
            retain_until=now + timedelta(hours=12),
            summary="Likely tonight",
        )
        trig = Trigger(kind="intelligence", intelligence_item_id=item, grade="1B")
        pid = service.propose(
            s, actor="ana", clock=w.clock, details=replace(details(w), trigger=trig)
        ).proposal_id
        v = service.read_proposal(s, actor="ana", clock=w.clock, proposal_id=pid)
    assert v.trigger == {"type": "intelligence", "intelligence_item_id": item, "grade": "1B"}


def test_reads_are_audited_with_their_basis_and_denials_with_their_reason(w: World) -> None:
    pid = walk_to(w, State.DRAFT)
    before = _head(w)
    with w.session() as s:
        service.read_proposal(s, actor="ana", clock=w.clock, proposal_id=pid)
        with pytest.raises(Refused) as refused:
            service.read_proposal(s, actor="ian", clock=w.clock, proposal_id=pid)
        with pytest.raises(InputError):
            service.read_proposal(s, actor="ana", clock=w.clock, proposal_id=999)
    read, denied, missing = _entries_after(w, before)
    assert (read.action, read.target_type, read.target_id, read.outcome) == (
        "read",
        "proposal",
        str(pid),
        "read",
    )
    assert set(read.detail_dict) == {"basis"}
    assert (denied.target_type, denied.outcome) == ("proposal", "denied")
    assert denied.detail_dict == {"rule": "read-scope", "reason": refused.value.reason}
    assert refused.value.reason.startswith(f"ian may not read proposal #{pid}")
    assert missing.detail_dict == {"rule": "not-found", "reason": "no proposal #999"}


def test_a_list_shows_the_database_now_filtered_and_audited(w: World) -> None:
    first = walk_to(w, State.DRAFT)
    second = walk_to(w, State.DRAFT, offset=5000.0)
    before = _head(w)
    with w.session() as s:
        views = service.list_proposals(s, actor="aud", clock=w.clock)
        assert [(v.id, v.state) for v in views] == [(first, State.DRAFT), (second, State.DRAFT)]
        with w.session() as other:  # someone else submits the second one
            service.submit(other, actor="ana", clock=w.clock, proposal_id=second)
        drafts = service.list_proposals(s, actor="aud", clock=w.clock, state=State.DRAFT)
        submitted = service.list_proposals(s, actor="aud", clock=w.clock, state=State.SUBMITTED)
        assert [v.id for v in drafts] == [first] and [v.id for v in submitted] == [second]
        assert submitted[0].stored_state == "submitted" and submitted[0].proposer == "ana"
        mine = service.list_proposals(s, actor="ian", clock=w.clock)
    assert mine == []
    entries = [e for e in _entries_after(w, before) if e.action == "read"]
    assert [e.detail_dict for e in entries] == [
        {"count": 2, "ids": [first, second]},
        {"count": 1, "ids": [first]},
        {"count": 1, "ids": [second]},
        {"count": 0, "ids": []},
    ]
    assert all(
        (e.target_type, e.target_id, e.outcome) == ("proposal", "*", "read") for e in entries
    )


def test_a_list_uses_the_read_rule_at_the_time_of_reading(w: World) -> None:
    """A role with a part to play only in some states sees a proposal while it is in one."""
    pid = walk_to(w, State.SUBMITTED)
    with w.session() as s:
        seen = [v.id for v in service.list_proposals(s, actor="cat", clock=w.clock)]
        single = service.read_proposal(s, actor="cat", clock=w.clock, proposal_id=pid)
    assert seen == [pid] and single.id == pid


def test_the_audit_export_is_for_auditors_and_administrators_only(w: World) -> None:
    before = _head(w)
    with w.session() as s:
        with pytest.raises(PermissionDenied, match="refused: ana: exporting the audit log"):
            service.export_audit(s, actor="ana", clock=w.clock)
        with pytest.raises(PermissionDenied):
            service.export_audit(s, actor="nobody", clock=w.clock)
        export = service.export_audit(s, actor="admin", clock=w.clock, since=3)
    role, unknown, done = _entries_after(w, before)
    reason = "exporting the audit log needs the role oversight_auditor or administrator"
    assert (role.action, role.target_type, role.target_id, role.outcome) == (
        "audit_export",
        "audit",
        "-",
        "denied",
    )
    assert role.detail_dict == {"rule": "role", "reason": reason}
    assert unknown.detail_dict == {"rule": "unknown-user", "reason": reason}
    assert (done.outcome, done.detail_dict) == ("read", {"since": 3})
    assert (done.actor, done.action, done.target_type, done.target_id) == (
        "admin",
        "audit_export",
        "audit",
        "-",
    )
    assert (unknown.actor, unknown.target_type, unknown.target_id, unknown.outcome) == (
        "nobody",
        "audit",
        "-",
        "denied",
    )
    entries, cp = export
    assert entries[0]["seq"] == 4 and entries[-1]["seq"] == cp.seq == done.seq
    assert export.since == 3 and export.public_key_pem is None and cp.signed is None


def test_a_refused_proposal_names_no_proposal_in_its_denial(w: World) -> None:
    err, e = _attempt(w, Action.PROPOSE, "cat", None, details(w))
    assert isinstance(err, Refused)
    assert (e.actor, e.action, e.target_type, e.target_id, e.outcome) == (
        "cat",
        "propose",
        "proposal",
        "-",
        "denied",
    )
    assert e.detail_dict == {"rule": err.rule, "reason": err.reason, "state": "new"}


def test_an_assessment_is_recorded_only_by_a_community_lead_not_the_proposer(w: World) -> None:
    from patrolcast.governance.roles import Role, RoleSpec, add_person

    with w.session() as s:
        add_person(
            s,
            actor="admin",
            username="lea",
            clock=w.clock,
            roles=[RoleSpec(Role.ANALYST), RoleSpec(Role.COMMUNITY_LEAD)],
        )
        own = service.propose(s, actor="lea", clock=w.clock, details=details(w)).proposal_id
    pid = walk_to(w, State.SUBMITTED)
    cases = (
        ("nobody", pid, "unknown-user", "nobody is not a user of this system"),
        ("ana", pid, "role", "a community impact assessment needs the role community_lead"),
        ("cat", 999, "not-found", "no proposal #999"),
        ("lea", own, "separation-of-duties", "nobody may assess their own proposal"),
    )
    for actor, target, rule, reason in cases:
        before = _head(w)
        with w.session() as s, pytest.raises(Refused) as err:
            service.record_assessment(
                s, actor=actor, clock=w.clock, proposal_id=target, payload={"summary": "x"}
            )
        assert (err.value.rule, err.value.reason) == (rule, reason)
        [e] = _entries_after(w, before)
        assert (e.actor, e.action, e.target_type, e.target_id, e.outcome) == (
            actor,
            "assessment_record",
            "proposal",
            str(target),
            "denied",
        )
        assert e.detail_dict == {"rule": rule, "reason": reason}
    with w.session() as s:
        assert s.query(CommunityImpactAssessment).count() == 0
    before = _head(w)
    with w.session() as s:
        aid = service.record_assessment(
            s,
            actor="cat",
            clock=w.clock,
            proposal_id=pid,
            payload={"summary": "low"},
            complete=False,
        )
        row = s.get(CommunityImpactAssessment, aid)
        assert row is not None and (row.payload, row.completed_at, row.completed_by) == (
            {"summary": "low"},
            None,
            None,
        )
    [e] = _entries_after(w, before)
    assert (e.actor, e.action, e.target_id, e.outcome) == (
        "cat",
        "assessment_record",
        str(pid),
        "done",
    )
    assert {k: e.detail_dict[k] for k in ("assessment_id", "complete")} == {
        "assessment_id": aid,
        "complete": False,
    }


def test_a_list_reads_the_rows_as_they_are_even_when_held_in_the_session(w: World) -> None:
    """A proposal object the session already holds is read again from the database: a list
    never shows a state another session has since changed."""
    pid = walk_to(w, State.DRAFT)
    with w.session() as s:
        held = s.get(Proposal, pid)
        assert held is not None and held.state == "draft"
        s.commit()  # the object stays in the session (no expiry on commit); the lock is released
        with w.session() as other:
            service.submit(other, actor="ana", clock=w.clock, proposal_id=pid)
        [v] = service.list_proposals(s, actor="aud", clock=w.clock)
        assert (v.state, v.stored_state) == (State.SUBMITTED, "submitted")
        assert service.list_proposals(s, actor="aud", clock=w.clock, state=State.DRAFT) == []


def test_a_list_applies_the_read_rule_to_the_effective_state_now(w: World) -> None:
    """A strategic commander with no part in a proposal reads it while it is active, not once
    it has expired (the effective state at the time of reading, not the stored one)."""
    pid = walk_to(w, State.ACTIVE)
    with w.session() as s:
        assert [v.id for v in service.list_proposals(s, actor="sfc2", clock=w.clock)] == [pid]
        w.clock.advance(timedelta(hours=7))
        assert service.list_proposals(s, actor="sfc2", clock=w.clock) == []
        [v] = service.list_proposals(s, actor="aud", clock=w.clock, state=State.EXPIRED)
    assert (v.id, v.state, v.stored_state) == (pid, State.EXPIRED, "authorised")


# --- the guards' view, stale composed steps, unknown readers --------------------------------


def test_the_guards_see_the_effective_state_and_the_attempt(
    w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every guard (permission and policy) is handed the attempt as it stands: the actor, the
    action, the *effective* state (active, not the stored authorised), the proposal, its pinned
    profile, the details and the one instant of the attempt."""
    from patrolcast.governance import lifecycle
    from patrolcast.governance.guards import GuardContext

    seen: list[GuardContext] = []
    real = lifecycle.policy_guards
    monkeypatch.setattr(lifecycle, "policy_guards", lambda action: (seen.append, *real(action)))
    pid = walk_to(w, State.ACTIVE)
    seen.clear()
    w.clock.advance(timedelta(hours=1))
    ext = ExtensionDetails(T0 + timedelta(hours=8), "Further stabbing.", ndm())
    r, _e = _attempt(w, Action.EXTEND, "acc2", pid, ext)
    assert r.to_state is State.ACTIVE
    [ctx] = seen
    assert (ctx.action, ctx.state, ctx.details, ctx.now) == (
        Action.EXTEND,
        State.ACTIVE,
        ext,
        w.clock.now(),
    )
    assert ctx.actor.username == "acc2" and ctx.proposal is not None and ctx.proposal.id == pid
    assert ctx.profile.name == "armed-foot-patrol"
    seen.clear()
    w.clock.advance(timedelta(hours=10))  # past the end: expired, though stored authorised
    _r, _e = _attempt(w, Action.DEBRIEF, "tfc", pid, DebriefDetails("Quiet.", "Signed: tfc"))
    assert [c.state for c in seen] == [State.EXPIRED]
    seen.clear()
    _r, _e = _attempt(w, Action.PROPOSE, "ana", None, details(w, offset=5000.0))
    assert [(c.state, c.proposal) for c in seen] == [(State.NEW, None)]


def test_a_stale_assessment_keeps_nothing_and_says_so(w: World) -> None:
    """assess_with(expected_version=...) that no longer matches: no assessment is kept, and
    one denial (stale-version, rolled back) is recorded; the proposal stays submitted."""
    pid = walk_to(w, State.SUBMITTED)
    v = _version(w, pid)
    before = _head(w)
    with w.session() as s, pytest.raises(StaleProposal) as err:
        service.assess_with(
            s,
            actor="cat",
            clock=w.clock,
            proposal_id=pid,
            payload={"summary": "late"},
            expected_version=v - 1,
        )
    [e] = _entries_after(w, before)
    assert (e.actor, e.action, e.target_id, e.outcome) == ("cat", "assess", str(pid), "denied")
    assert e.detail_dict == {
        "rule": "stale-version",
        "reason": err.value.reason,
        "rolled_back": True,
    }
    with w.session() as s:
        assert s.query(CommunityImpactAssessment).filter_by(proposal_id=pid).count() == 0
        p = s.get(Proposal, pid)
        assert p is not None and (p.state, p.version) == ("submitted", v)


def test_an_unknown_reader_is_refused_and_audited_under_the_logged_name(w: World) -> None:
    pid = walk_to(w, State.DRAFT)
    before = _head(w)
    with w.session() as s:
        with pytest.raises(Refused) as one:
            service.read_proposal(s, actor="Nobody", clock=w.clock, proposal_id=pid)
        with pytest.raises(Refused) as many:
            service.list_proposals(s, actor="Nobody", clock=w.clock)
    for err in (one.value, many.value):
        assert (err.rule, err.reason) == ("unknown-user", "nobody is not a user of this system")
    single, listing = _entries_after(w, before)
    assert (single.actor, single.action, single.target_type, single.target_id, single.outcome) == (
        "nobody",
        "read",
        "proposal",
        str(pid),
        "denied",
    )
    assert (listing.actor, listing.target_id, listing.outcome) == ("nobody", "*", "denied")
    for e in (single, listing):
        assert e.detail_dict == {"rule": "unknown-user", "reason": "not a user"}


# --- the time rule at both edges of the window, as each action sees it ------------------------

_TICK = timedelta(microseconds=1)


def test_before_its_start_an_authorisation_is_authorised_and_from_its_start_active(
    w: World,
) -> None:
    """The window's start is inclusive: one microsecond before it, a cancellation or a view
    sees ``authorised``; at it, ``active``."""
    early = walk_to(w, State.AUTHORISED)  # window T0+1h .. T0+7h
    late = walk_to(w, State.AUTHORISED, offset=5000.0)
    w.clock.advance(timedelta(hours=1) - _TICK)
    with w.session() as s:
        v = service.read_proposal(s, actor="aud", clock=w.clock, proposal_id=early)
    assert (v.state, v.active) == (State.AUTHORISED, False)
    r, e = _attempt(w, Action.CANCEL, "acc1", early, CancellationDetails("Grounds lapsed."))
    assert (r.from_state, e.detail_dict["from"]) == (State.AUTHORISED, "authorised")
    w.clock.advance(_TICK)
    with w.session() as s:
        v = service.read_proposal(s, actor="aud", clock=w.clock, proposal_id=late)
    assert (v.state, v.active, v.stored_state) == (State.ACTIVE, True, "authorised")
    r, e = _attempt(w, Action.CANCEL, "acc1", late, CancellationDetails("Grounds lapsed."))
    assert (r.from_state, e.detail_dict["from"]) == (State.ACTIVE, "active")


def test_until_its_end_an_authorisation_is_active_and_from_its_end_expired(w: World) -> None:
    """The window's end is exclusive: one microsecond before it, the deployment is active
    (no debrief yet, a cancellation possible); at it, expired (a debrief, no cancellation, no
    extension), whether or not anything ran at that instant."""
    pid = walk_to(w, State.ACTIVE)  # window T0 .. T0+6h
    w.clock.advance(timedelta(hours=6) - _TICK)
    err, e = _attempt(w, Action.DEBRIEF, "tfc", pid, DebriefDetails("Quiet.", "Signed: tfc"))
    assert isinstance(err, InvalidTransition)
    assert err.reason == (
        f"cannot debrief proposal #{pid}: it is active (only from cancelled, expired)"
    )
    assert e.detail_dict["state"] == "active"
    with w.session() as s:
        [v] = service.list_proposals(s, actor="aud", clock=w.clock, state=State.ACTIVE)
    assert v.id == pid
    w.clock.advance(_TICK)
    with w.session() as s:
        assert service.list_proposals(s, actor="aud", clock=w.clock, state=State.ACTIVE) == []
        v = service.read_proposal(s, actor="aud", clock=w.clock, proposal_id=pid)
    assert (v.state, v.active) == (State.EXPIRED, False)
    err, e = _attempt(w, Action.CANCEL, "acc1", pid, CancellationDetails("Too late."))
    assert isinstance(err, InvalidTransition) and e.detail_dict["state"] == "expired"
    new_end = T0 + timedelta(hours=8)
    err, e = _attempt(w, Action.EXTEND, "acc2", pid, ExtensionDetails(new_end, "More.", ndm()))
    assert isinstance(err, InvalidTransition)
    assert err.reason == (
        f"cannot extend proposal #{pid}: it is expired (only from active, authorised)"
    )
    r, e = _attempt(w, Action.DEBRIEF, "tfc", pid, DebriefDetails("Quiet.", "Signed: tfc"))
    assert (r.from_state, r.to_state) == (State.EXPIRED, State.DEBRIEFED)
    assert (e.detail_dict["from"], e.detail_dict["to"]) == ("expired", "debriefed")
    with w.session() as s:
        p = s.get(Proposal, pid)
        assert p is not None and p.state == "debriefed" and p.cancelled_at is None


def test_an_extension_before_the_start_keeps_the_proposal_authorised(w: World) -> None:
    """Extending a deployment that has not started: from and to ``authorised``, stored as
    such; the new end moves the expiry instant (active just before it, expired at it)."""
    pid = walk_to(w, State.AUTHORISED)  # window T0+1h .. T0+7h
    new_end = T0 + timedelta(hours=8)
    r, e = _attempt(w, Action.EXTEND, "acc2", pid, ExtensionDetails(new_end, "More.", ndm()))
    assert (r.from_state, r.to_state) == (State.AUTHORISED, State.AUTHORISED)
    assert (e.detail_dict["from"], e.detail_dict["to"]) == ("authorised", "authorised")
    w.clock.advance(timedelta(hours=8) - _TICK)
    with w.session() as s:
        assert service.read_proposal(s, actor="aud", clock=w.clock, proposal_id=pid).active
    w.clock.advance(_TICK)
    with w.session() as s:
        v = service.read_proposal(s, actor="aud", clock=w.clock, proposal_id=pid)
    assert (v.state, v.authorised_end, v.extensions_used) == (State.EXPIRED, new_end, 1)


# --- what is stamped and who is named on each record ----------------------------------------


def test_every_transition_stamps_the_proposal_and_every_record_names_its_author(
    w: World,
) -> None:
    """``updated_at`` is the instant of the last transition (``created_at`` stays the
    proposal's); the debrief and the review name who signed them off."""
    c = w.clock
    pid = walk_to(w, State.CANCELLED)
    with w.session() as s:
        p = s.get(Proposal, pid)
        assert p is not None and (p.created_at, p.updated_at) == (T0, T0)
        ids = {
            name: s.execute(select(Person.id).where(Person.username == name)).scalar_one()
            for name in ("ana", "tfc", "acc2")
        }
        assert p.proposer_id == ids["ana"]
    c.advance(timedelta(hours=30))
    r, _e = _attempt(w, Action.DEBRIEF, "tfc", pid, DebriefDetails("Quiet.", "Signed: tfc"))
    with w.session() as s:
        p = s.get(Proposal, pid)
        assert p is not None and (p.created_at, p.updated_at) == (T0, c.now())
        [db] = s.execute(select(Debrief).where(Debrief.proposal_id == pid)).scalars()
        assert (db.signed_off_by_id, db.signed_off_at) == (ids["tfc"], c.now())
    c.advance(timedelta(hours=1))
    _attempt(w, Action.REVIEW, "acc2", pid, ReviewDetails("Proportionate."))
    with w.session() as s:
        p = s.get(Proposal, pid)
        assert p is not None and p.updated_at == c.now() and p.version == r.version + 1
        [rv] = s.execute(select(Review).where(Review.proposal_id == pid)).scalars()
        assert (rv.reviewed_by_id, rv.reviewed_at) == (ids["acc2"], c.now())


def test_a_proposal_stores_what_was_proposed(w: World) -> None:
    d = details(w, start_in=1.0)
    r, _e = _attempt(w, Action.PROPOSE, "ana", None, d)
    with w.session() as s:
        p = s.get(Proposal, r.proposal_id)
        assert p is not None
        assert (p.profile, p.state, p.trigger_type, p.incident_offence, p.incident_place) == (
            "armed-foot-patrol",
            "draft",
            "incident",
            "serious_assault",
            "Example Road",
        )
        assert p.incident_at == d.trigger.occurred_at
        assert (p.area_wkt, p.area_crs, p.area_cells, p.area_km2) == (
            d.area.wkt,
            d.area.crs,
            list(d.area.cells),
            d.area.area_km2,
        )
        assert (p.boroughs, p.requested_start, p.requested_end) == (
            list(d.area.boroughs),
            d.start,
            d.end,
        )
        assert (p.ndm_rationale, p.snapshot_id, p.extensions_used) == (ndm().to_dict(), 1, 0)
        assert (p.authorised_start, p.authorised_end, p.authorised_by_id, p.cancelled_at) == (
            None,
            None,
            None,
            None,
        )
        assert (p.intelligence_item_id, p.intelligence_grade) == (None, None)


def test_a_completed_assessment_names_who_completed_it_and_assess_cites_the_latest(
    w: World,
) -> None:
    """The assessment an ``assess`` rests on is the latest *completed* one of *this*
    proposal: not a later draft, not another proposal's."""
    pid = walk_to(w, State.SUBMITTED)
    other = walk_to(w, State.SUBMITTED, offset=5000.0)
    c = w.clock
    with w.session() as s:
        done = service.record_assessment(
            s, actor="cat", clock=c, proposal_id=pid, payload={"summary": "final"}
        )
        row = s.get(CommunityImpactAssessment, done)
        assert row is not None
        assert (row.completed_at, row.completed_by, row.created_at) == (c.now(), "cat", c.now())
        later_draft = service.record_assessment(
            s, actor="cat", clock=c, proposal_id=pid, payload={"summary": "v2"}, complete=False
        )
        elsewhere = service.record_assessment(
            s, actor="cat", clock=c, proposal_id=other, payload={"summary": "other"}
        )
    assert done < later_draft < elsewhere
    r, e = _attempt(w, Action.ASSESS, "cat", pid)
    assert r.to_state is State.ASSESSED and e.detail_dict["assessment_id"] == done


def test_an_assessment_without_a_completed_one_is_refused(w: World) -> None:
    pid = walk_to(w, State.SUBMITTED)
    with w.session() as s:
        service.record_assessment(
            s, actor="cat", clock=w.clock, proposal_id=pid, payload={"s": 1}, complete=False
        )
    err, e = _attempt(w, Action.ASSESS, "cat", pid)
    assert isinstance(err, Refused) and err.rule == "community-impact-assessment"
    assert e.detail_dict == {"rule": err.rule, "reason": err.reason, "state": "submitted"}


# --- refusals before the guards: the profile ------------------------------------------------


def test_an_unknown_profile_is_bad_input_and_an_unpinned_one_a_denial_with_the_state(
    w: World,
) -> None:
    from dataclasses import replace

    with w.session() as s:
        with pytest.raises(InputError, match="unknown policy profile no-such: one of "):
            service.propose(
                s, actor="ana", clock=w.clock, details=replace(details(w), profile="no-such")
            )
        assert s.query(Proposal).count() == 0
    pid = walk_to(w, State.SUBMITTED)
    with w.session() as s:
        # an old row (or an insider's edit), as test_policy_pinning makes one
        s.execute(text("update proposals set profile_sha256 = NULL where id = :i"), {"i": pid})
        s.commit()
    err, e = _attempt(w, Action.ASSESS, "cat", pid)
    assert isinstance(err, Refused) and "predates policy pinning" in err.reason
    assert (e.actor, e.action, e.target_id, e.outcome) == ("cat", "assess", str(pid), "denied")
    assert e.detail_dict == {"rule": err.rule, "reason": err.reason, "state": "submitted"}


def test_an_unknown_user_proposing_is_denied_against_no_proposal(w: World) -> None:
    err, e = _attempt(w, Action.PROPOSE, "Ghost", None, details(w))
    assert isinstance(err, Refused) and err.rule == "unknown-user"
    assert (e.actor, e.action, e.target_type, e.target_id, e.outcome) == (
        "ghost",
        "propose",
        "proposal",
        "-",
        "denied",
    )
    assert e.detail_dict == {
        "rule": "unknown-user",
        "reason": "ghost is not a user of this system",
        "state": None,
    }


# --- the services' edges: ids, composed steps, views as an API client sees them, the export ---


def test_a_read_needs_a_whole_number_id_and_touches_nothing_otherwise(w: World) -> None:
    pid = walk_to(w, State.DRAFT)
    before = _head(w)
    with w.session() as s:
        for bad in (True, "1", 1.0, None):
            with pytest.raises(InputError, match="a proposal id is a whole number"):
                service.read_proposal(s, actor="aud", clock=w.clock, proposal_id=bad)  # type: ignore[arg-type]
    assert _head(w) == before
    with w.session() as s:
        assert service.read_proposal(s, actor="aud", clock=w.clock, proposal_id=pid).id == pid


def test_a_composed_step_with_details_of_the_wrong_type_is_bad_input(w: World) -> None:
    from patrolcast.governance.lifecycle import apply_in_transaction

    pid = walk_to(w, State.CONSULTED)
    before = _head(w)
    with w.session() as s, pytest.raises(InputError, match="refuse needs RefusalDetails"):
        apply_in_transaction(
            s,
            action=Action.REFUSE,
            actor="acc1",
            now=w.clock.now(),
            proposal_id=pid,
            details=CancellationDetails("No."),
        )
    assert _head(w) == before


def test_a_composed_step_applies_at_the_given_instant(w: World) -> None:
    from patrolcast.governance.lifecycle import apply_in_transaction, run_atomically

    pid = walk_to(w, State.CONSULTED)
    at = w.clock.now() + timedelta(minutes=7)
    with w.session() as s:
        r = run_atomically(
            s,
            actor="acc1",
            action="refuse",
            now=at,
            proposal_id=pid,
            steps=(
                lambda _: apply_in_transaction(
                    s,
                    action=Action.REFUSE,
                    actor="acc1",
                    now=at,
                    proposal_id=pid,
                    details=RefusalDetails("No."),
                ),
            ),
        )
    assert (r.to_state, r.at) == (State.REFUSED, at)
    [d] = _decisions(w, pid)
    assert (d.kind, d.decided_at, d.reasons) == ("refuse", at, "No.")


def test_a_view_as_a_dict_has_every_field_an_api_client_reads(w: World) -> None:
    pid = walk_to(w, State.ACTIVE)
    c = w.clock
    c.advance(timedelta(hours=1))
    new_end = T0 + timedelta(hours=7)
    with w.session() as s:
        service.extend(
            s,
            actor="acc2",
            clock=c,
            proposal_id=pid,
            details=ExtensionDetails(new_end, "Further stabbing.", ndm()),
        )
        v = service.read_proposal(s, actor="aud", clock=c, proposal_id=pid)
    doc = v.to_dict()
    assert set(doc) == {
        "id",
        "version",
        "profile",
        "state",
        "proposer",
        "trigger",
        "area_km2",
        "area_wkt",
        "stored_state",
        "boroughs",
        "requested_start",
        "requested_end",
        "authorised_start",
        "authorised_end",
        "extensions_used",
        "cancelled_at",
        "snapshot_id",
        "ndm_rationale",
        "consultations",
        "decisions",
    }
    assert (doc["id"], doc["version"], doc["state"], doc["stored_state"]) == (
        pid,
        v.version,
        "active",
        "authorised",
    )
    assert (doc["proposer"], doc["snapshot_id"], doc["extensions_used"]) == ("ana", 1, 1)
    assert doc["boroughs"] == ["E09000001", "E09000002"] and doc["area_wkt"] == v.area_wkt
    assert v.area_wkt.startswith("POLYGON") and doc["ndm_rationale"] == ndm().to_dict()
    assert (doc["requested_start"], doc["requested_end"]) == (
        T0.isoformat(),
        (T0 + timedelta(hours=6)).isoformat(),
    )
    assert (doc["authorised_start"], doc["authorised_end"], doc["cancelled_at"]) == (
        T0.isoformat(),
        new_end.isoformat(),
        None,
    )
    assert doc["trigger"]["type"] == "incident" and doc["trigger"]["offence"] == "serious_assault"
    ext = doc["decisions"][-1]
    assert (ext["kind"], ext["by"], ext["start"], ext["end"], ext["at"], ext["reasons"]) == (
        "extend",
        "acc2",
        (T0 + timedelta(hours=6)).isoformat(),
        new_end.isoformat(),
        c.now().isoformat(),
        "Further stabbing.",
    )
    back = service.ProposalView.from_dict(doc)
    assert back == v and back.active
    older = {k: x for k, x in doc.items() if k != "stored_state"}
    assert service.ProposalView.from_dict(older).stored_state == "active"


def test_the_export_carries_the_servers_public_key_and_a_signed_checkpoint(
    w: World, tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from patrolcast.governance.signing import SIGNER_INFO_KEY, AuditSigner

    walk_to(w, State.DRAFT)
    signer = AuditSigner(Ed25519PrivateKey.generate())
    with w.session() as s:
        s.info[SIGNER_INFO_KEY] = signer
        export = service.export_audit(s, actor="aud", clock=w.clock)
    entries, cp = export
    assert export.public_key_pem == signer.public_key_pem() and export.since == 0
    assert entries[0]["seq"] == 1 and entries[-1]["seq"] == cp.seq
    assert entries[-1]["action"] == "audit_export" and entries[-1]["actor"] == "aud"
    assert cp.signed is not None and signer.verify(cp.signed) and cp.signed.seq == cp.seq
    path = tmp_path / "export.json"
    export.write(path)
    assert audit.verify_export(path, signer.public_key_pem()).ok


class _LondonClock:
    """A clock that reads the time in London (summer time: UTC+1), as a server might."""

    def __init__(self, utc: Any) -> None:
        from zoneinfo import ZoneInfo

        self.at = utc.astimezone(ZoneInfo("Europe/London"))

    def now(self) -> Any:
        return self.at


def test_times_from_a_zoned_clock_are_recorded_in_utc(w: World) -> None:
    """Whatever zone the clock reads in, a transition, a composed step and an assessment are
    stamped with the same instant in UTC (``+00:00``), and a read judges the state then."""
    pid = walk_to(w, State.SUBMITTED)
    london = _LondonClock(T0 + timedelta(minutes=5))
    assert london.now().utcoffset() == timedelta(hours=1)
    utc = T0 + timedelta(minutes=5)
    with w.session() as s:
        aid = service.record_assessment(
            s, actor="cat", clock=london, proposal_id=pid, payload={"s": 1}
        )
        row = s.get(CommunityImpactAssessment, aid)
        assert row is not None and row.completed_at == utc
        r = service.assess(s, actor="cat", clock=london, proposal_id=pid)
        assert r.at == utc and r.to_dict()["at"] == utc.isoformat()
        made = service.propose(
            s, actor="ana", clock=london, details=details(w, offset=5000.0), submit_now=True
        )
        assert made.at == utc and made.at.utcoffset() == timedelta(0)
        v = service.read_proposal(s, actor="aud", clock=london, proposal_id=pid)
        assert v.state is State.ASSESSED


def test_the_area_is_audited_and_shown_to_a_millionth_of_a_km2(w: World) -> None:
    """area_km2 in the proposal's audit entry and in a view's dict is rounded to 6 places."""
    from dataclasses import replace

    from tests.governance.helpers import area

    odd = area(size=333.3)  # 0.11108889 km2
    assert round(odd.area_km2, 8) == 0.11108889
    r, e = _attempt(w, Action.PROPOSE, "ana", None, replace(details(w), area=odd))
    assert e.detail_dict["area_km2"] == 0.111089
    with w.session() as s:
        v = service.read_proposal(s, actor="ana", clock=w.clock, proposal_id=r.proposal_id)
    assert v.area_km2 == odd.area_km2 and v.to_dict()["area_km2"] == 0.111089


def test_a_role_removed_elsewhere_stops_the_next_action_of_a_held_session(w: World) -> None:
    """A session that has already acted (and so holds the actor's grants) decides the next
    action on the roles as they are now: a role removed by an administrator in another session
    refuses it at once. Likewise a proposal the session holds is read again."""
    from patrolcast.governance.roles import Role, RoleSpec, remove_role

    pid = walk_to(w, State.CONSULTED)
    with w.session() as s:
        held = s.get(Proposal, pid)
        assert held is not None and held.state == "consulted"
        service.read_proposal(s, actor="acc1", clock=w.clock, proposal_id=pid)
        with w.session() as admin:
            remove_role(
                admin,
                actor="admin",
                username="acc1",
                role=RoleSpec(Role.AUTHORISING_OFFICER),
                clock=w.clock,
            )
        with pytest.raises(Refused) as err:
            service.authorise(
                s, actor="acc1", clock=w.clock, proposal_id=pid, details=authorisation(w)
            )
        # acc1 now holds no role at all: the first permission rule (nothing but reads) refuses
        assert err.value.rule == "read-only"
        with w.session() as other:
            service.refuse(
                other,
                actor="acc2",
                clock=w.clock,
                proposal_id=pid,
                details=RefusalDetails("Not corroborated."),
            )
        with pytest.raises(InvalidTransition, match="it is refused"):
            service.authorise(
                s, actor="acc2", clock=w.clock, proposal_id=pid, details=authorisation(w)
            )
        v = service.read_proposal(s, actor="aud", clock=w.clock, proposal_id=pid)
        assert (v.state, v.stored_state) == (State.REFUSED, "refused")


def test_a_row_changed_under_a_transition_is_a_conflict_that_keeps_nothing(
    w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the proposal's version moves between the read and the write (a writer that did not
    take the lock), the transition fails as a conflict asking to reload, and writes nothing."""
    from patrolcast.governance import lifecycle

    pid = walk_to(w, State.DRAFT)
    v = _version(w, pid)

    def bump(ctx: Any) -> None:
        ctx.session.execute(
            text("update proposals set version = version + 1 where id = :i"), {"i": pid}
        )

    monkeypatch.setattr(lifecycle, "policy_guards", lambda action: (bump,))
    before = _head(w)
    with w.session() as s, pytest.raises(ConflictError) as err:
        service.submit(s, actor="ana", clock=w.clock, proposal_id=pid)
    assert str(err.value) == (
        f"proposal {pid} changed while you were acting on it: reload and retry"
    )
    assert _head(w) == before
    with w.session() as s:
        p = s.get(Proposal, pid)
        assert p is not None and (p.state, p.version) == ("draft", v)


def _stale_cases(w: World) -> list[tuple[str, State, dict[str, Any]]]:
    return [
        ("submit", State.DRAFT, {}),
        ("assess", State.SUBMITTED, {}),
        (
            "consult",
            State.ASSESSED,
            {"details": ConsultationDetails("E09000001", "support", "Agreed.")},
        ),
        ("authorise", State.CONSULTED, {"details": authorisation(w)}),
        ("refuse", State.CONSULTED, {"details": RefusalDetails("No.")}),
        (
            "extend",
            State.ACTIVE,
            {"details": ExtensionDetails(T0 + timedelta(hours=7), "More.", ndm())},
        ),
        ("cancel", State.ACTIVE, {"details": CancellationDetails("Lapsed.")}),
        ("debrief", State.CANCELLED, {"details": DebriefDetails("Quiet.", "Signed: tfc")}),
        ("review", State.DEBRIEFED, {"details": ReviewDetails("Fine.")}),
    ]


_ACTORS = {
    "submit": "ana",
    "assess": "cat",
    "consult": "bob1",
    "authorise": "acc1",
    "refuse": "acc1",
    "extend": "acc2",
    "cancel": "acc1",
    "debrief": "tfc",
    "review": "sfc2",
}


@pytest.mark.parametrize("name", list(_ACTORS))
def test_every_action_service_acts_once_and_refuses_a_stale_version(w: World, name: str) -> None:
    """Each action's service passes its details and the version the caller saw: a stale
    version is refused (audited, nothing moves); the current one acts, once."""
    [(_n, state, kw)] = [c for c in _stale_cases(w) if c[0] == name]
    pid = walk_to(w, state)
    if name == "assess":
        with w.session() as s:
            service.record_assessment(
                s, actor="cat", clock=w.clock, proposal_id=pid, payload={"s": 1}
            )
    v = _version(w, pid)
    fn = getattr(service, name)
    before = _head(w)
    with w.session() as s, pytest.raises(StaleProposal):
        fn(s, actor=_ACTORS[name], clock=w.clock, proposal_id=pid, expected_version=v - 1, **kw)
    [e] = _entries_after(w, before)
    assert (e.action, e.target_id, e.outcome, e.detail_dict["rule"]) == (
        name,
        str(pid),
        "denied",
        "stale-version",
    )
    assert _version(w, pid) == v
    with w.session() as s:
        r = fn(s, actor=_ACTORS[name], clock=w.clock, proposal_id=pid, expected_version=v, **kw)
    assert (r.action.value, r.proposal_id, r.version) == (name, pid, _version(w, pid))
    assert r.version == v + 1 or (name, r.to_state) == ("consult", State.ASSESSED)
    [e] = _entries_after(w, e.seq)
    assert (e.actor, e.action, e.outcome) == (_ACTORS[name], name, "done")
    for key in ("borough", "reasons", "new_end"):
        if key in e.detail_dict:
            d = kw["details"]
            want = d.new_end.isoformat() if key == "new_end" else getattr(d, key)
            assert e.detail_dict[key] == want


def test_an_authorisation_over_an_objection_records_its_answer(w: World) -> None:
    """A borough that objects: the authorisation is refused until it answers the objection,
    and the answer is kept on the decision with the named commanders and the notice."""
    from dataclasses import replace

    pid = walk_to(w, State.ASSESSED)
    with w.session() as s:
        service.consult(
            s,
            actor="bob1",
            clock=w.clock,
            proposal_id=pid,
            details=ConsultationDetails("E09000001", "object", "Tension high."),
        )
        service.consult(
            s,
            actor="bob2",
            clock=w.clock,
            proposal_id=pid,
            details=ConsultationDetails("E09000002", "support", "Agreed."),
        )
    err, e = _attempt(w, Action.AUTHORISE, "acc1", pid, authorisation(w))
    assert isinstance(err, Refused) and err.rule == "consultation-objection"
    assert e.detail_dict == {"rule": err.rule, "reason": err.reason, "state": "consulted"}
    answer = "Community meeting held; patrol briefed to engage."
    r, e = _attempt(
        w, Action.AUTHORISE, "acc1", pid, replace(authorisation(w), objection_response=answer)
    )
    assert r.to_state is State.AUTHORISED
    [d] = _decisions(w, pid)
    assert d.details == {
        "tactical_commander": "tfc",
        "strategic_commander": "sfc",
        "public_notice": "Notice: armed patrols in the area tonight.",
        "objection_response": answer,
    }


def test_read_refusals_say_who_may_read_and_are_audited_word_for_word(w: World) -> None:
    from patrolcast.governance.roles import Role, RoleSpec, remove_role

    pid = walk_to(w, State.DRAFT)
    with w.session() as s:
        remove_role(
            s,
            actor="admin",
            username="ian",
            role=RoleSpec(Role.INTELLIGENCE_OFFICER),
            clock=w.clock,
        )
    before = _head(w)
    with w.session() as s:
        with pytest.raises(Refused) as one:
            service.read_proposal(s, actor="tfc", clock=w.clock, proposal_id=pid)
        with pytest.raises(Refused) as none:
            service.list_proposals(s, actor="ian", clock=w.clock)
    assert (one.value.rule, one.value.reason) == (
        "read-scope",
        f"tfc may not read proposal #{pid}: only administrators, oversight auditors, its "
        "proposer, those who decided on it, the commanders of the boroughs it touches, and "
        "roles with a part to play in its current state",
    )
    assert (none.value.rule, none.value.reason) == (
        "read-scope",
        "ian holds no role: nothing to read",
    )
    single, listing = _entries_after(w, before)
    assert (single.actor, single.target_id, single.outcome) == ("tfc", str(pid), "denied")
    assert single.detail_dict == {"rule": "read-scope", "reason": one.value.reason}
    assert (listing.actor, listing.target_id, listing.outcome) == ("ian", "*", "denied")
    assert listing.detail_dict == {"rule": "read-scope", "reason": none.value.reason}


def test_a_read_shows_the_row_as_it_is_even_when_held_in_the_session(w: World) -> None:
    pid = walk_to(w, State.DRAFT)
    with w.session() as s:
        held = s.get(Proposal, pid)
        assert held is not None and held.state == "draft"
        s.commit()
        with w.session() as other:
            service.submit(other, actor="ana", clock=w.clock, proposal_id=pid)
        v = service.read_proposal(s, actor="aud", clock=w.clock, proposal_id=pid)
    assert (v.state, v.stored_state, v.version) == (State.SUBMITTED, "submitted", _version(w, pid))


def test_an_assessment_of_a_proposal_not_yet_submitted_keeps_nothing(w: World) -> None:
    """assess_with on a draft: the assessment step passes but the transition is not possible,
    so nothing is kept and one denial (invalid-transition, rolled back) says so."""
    pid = walk_to(w, State.DRAFT)
    before = _head(w)
    with w.session() as s, pytest.raises(InvalidTransition) as err:
        service.assess_with(s, actor="cat", clock=w.clock, proposal_id=pid, payload={"s": 1})
    assert err.value.reason == (f"cannot assess proposal #{pid}: it is draft (only from submitted)")
    [e] = _entries_after(w, before)
    assert (e.actor, e.action, e.target_id, e.outcome) == ("cat", "assess", str(pid), "denied")
    assert e.detail_dict == {
        "rule": "invalid-transition",
        "reason": err.value.reason,
        "rolled_back": True,
    }
    with w.session() as s:
        assert s.query(CommunityImpactAssessment).count() == 0


def test_a_completed_assessment_is_audited_as_complete(w: World) -> None:
    pid = walk_to(w, State.SUBMITTED)
    before = _head(w)
    with w.session() as s:
        aid = service.record_assessment(
            s, actor="cat", clock=w.clock, proposal_id=pid, payload={"summary": "low"}
        )
    [e] = _entries_after(w, before)
    assert (e.actor, e.action, e.target_type, e.target_id, e.outcome) == (
        "cat",
        "assessment_record",
        "proposal",
        str(pid),
        "done",
    )
    assert {k: e.detail_dict[k] for k in ("assessment_id", "complete")} == {
        "assessment_id": aid,
        "complete": True,
    }


def test_an_incident_row_without_its_time_is_still_shown(w: World) -> None:
    """A row edited outside the system (an incident whose time was cleared) is still shown to
    an auditor, with no time, rather than failing the read."""
    pid = walk_to(w, State.DRAFT)
    with w.session() as s:
        s.execute(text("update proposals set incident_at = NULL where id = :i"), {"i": pid})
        s.commit()
        v = service.read_proposal(s, actor="aud", clock=w.clock, proposal_id=pid)
    assert v.trigger == {
        "type": "incident",
        "offence": "serious_assault",
        "place": "Example Road",
        "occurred_at": None,
    }


def test_a_decision_locks_its_proposal_then_the_audit_head(w: World) -> None:
    """The concurrency rule (lifecycle docstring): the proposal row is read for update, then
    the one audit head row (id 1), before any guard reads other proposals. On PostgreSQL these
    are SELECT ... FOR UPDATE; here the statements and their order are checked."""
    from sqlalchemy import event

    pid = walk_to(w, State.DRAFT)
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, params: Any, *_a: Any) -> None:
        flat = " ".join(statement.split()).lower()
        if flat.startswith("select") and ("from proposals" in flat or "from audit_head" in flat):
            seen.append((flat, params))

    event.listen(w.db.engine, "before_cursor_execute", record)
    try:
        _attempt(w, Action.SUBMIT, "ana", pid)
    finally:
        event.remove(w.db.engine, "before_cursor_execute", record)
    lock_p = next(
        i
        for i, (sql, p) in enumerate(seen)
        if "from proposals where proposals.id = ?" in sql and tuple(p) == (pid,)
    )
    lock_h = next(
        i
        for i, (sql, p) in enumerate(seen)
        if sql.startswith("select audit_head.id from audit_head where audit_head.id = ?")
        and tuple(p) == (1,)
    )
    assert lock_p < lock_h


def test_an_extension_without_a_rationale_is_kept_as_such_where_the_profile_allows(
    w: World,
) -> None:
    """Under the shipped profile an extension needs its NDM rationale (refused, audited);
    under an installed version that does not, the extension decision records none."""
    from patrolcast.governance.policy_registry import install_profile
    from patrolcast.governance.profiles import shipped_profile_text

    strict = walk_to(w, State.ACTIVE)
    new_end = T0 + timedelta(hours=7)
    err, e = _attempt(w, Action.EXTEND, "acc2", strict, ExtensionDetails(new_end, "More."))
    assert isinstance(err, Refused) and err.rule == "ndm-rationale"
    assert e.detail_dict == {"rule": "ndm-rationale", "reason": err.reason, "state": "active"}
    body = shipped_profile_text("armed-foot-patrol").replace("version = 1", "version = 2", 1)
    assert "ndm_required = true" in body
    with w.session() as s:
        install_profile(
            s,
            actor="admin",
            clock=w.clock,
            text=body.replace("ndm_required = true", "ndm_required = false", 1),
        )
    loose = walk_to(w, State.ACTIVE, offset=20000.0)
    r, e = _attempt(w, Action.EXTEND, "acc2", loose, ExtensionDetails(new_end, "More."))
    assert r.to_state is State.ACTIVE and e.detail_dict["new_end"] == new_end.isoformat()
    ext = _decisions(w, loose)[-1]
    assert (ext.kind, ext.ndm_rationale, ext.window_end, ext.reasons) == (
        "extend",
        None,
        new_end,
        "More.",
    )


def test_an_export_attempt_never_writes_or_echoes_the_callers_text(w: World) -> None:
    """As for every other refusal, an unknown or malformed acting-user string is written to
    the audit log as its log name (casefolded, or a placeholder), never as given, and the
    refusal does not echo it; a known user is logged by their username."""
    before = _head(w)
    long_actor = "m" * 3000
    with w.session() as s:
        for actor in (long_actor, "Evil\nactor", "Nobody"):
            with pytest.raises(PermissionDenied) as err:
                service.export_audit(s, actor=actor, clock=w.clock)
            assert actor not in str(err.value)
        service.export_audit(s, actor="AUD", clock=w.clock)
    long_e, multi, nobody, done = _entries_after(w, before)
    assert [e.actor for e in (long_e, multi, nobody)] == [
        "(invalid username)",
        "(invalid username)",
        "nobody",
    ]
    assert all(e.detail_dict["rule"] == "unknown-user" for e in (long_e, multi, nobody))
    assert (done.actor, done.outcome) == ("aud", "read")
