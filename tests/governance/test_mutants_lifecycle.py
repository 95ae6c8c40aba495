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
from sqlalchemy import select

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


def _attempt(world: World, action: Action, actor: str, pid: int | None, d: Any = None,
             **kw: Any) -> tuple[Any, audit.AuditRecord]:
    """One transition attempt; returns (result or the error, the one entry it added)."""
    before = _head(world)
    with world.session() as s:
        try:
            out: Any = transition(s, action=action, actor=actor, clock=world.clock,
                                  proposal_id=pid, details=d, **kw)
        except (PermissionDenied, ConflictError, InputError) as exc:
            out = exc
    added = _entries_after(world, before)
    assert len(added) == 1, [(e.action, e.outcome) for e in added]
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
        "ana", "propose", "proposal", str(pid), "done")
    d = e.detail_dict
    assert (d["from"], d["to"], d["version"], d["profile"], d["trigger"]) == (
        "new", "draft", v, "armed-foot-patrol", "incident")
    assert d["boroughs"] == ["E09000001", "E09000002"] and d["snapshot_id"] == 1
    assert d["area_km2"] == 0.25 and d["profile_version"] and len(d["profile_sha256"]) == 64
    r, e = _attempt(w, Action.SUBMIT, "ana", pid)
    assert (r.from_state, r.to_state, r.version) == (State.DRAFT, State.SUBMITTED, v + 1)
    assert {k: e.detail_dict[k] for k in ("from", "to", "version")} == {
        "from": "draft", "to": "submitted", "version": v + 1}
    assert r.to_dict() == {
        "proposal_id": pid, "action": "submit", "from_state": "draft",
        "to_state": "submitted", "version": v + 1, "audit_seq": e.seq,
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
        "rule": "unknown-user", "reason": "nobody is not a user of this system", "state": None}
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
        f"cannot cancel proposal #{pid}: it is draft (only from active, authorised)")
    with w.session() as s, pytest.raises(InputError, match="debrief needs a proposal id"):
        transition(s, action=Action.DEBRIEF, actor="tfc", clock=w.clock, proposal_id=None,
                   details=DebriefDetails("S.", "Signed."))


def test_details_of_the_wrong_type_are_refused_before_anything(w: World) -> None:
    before = _head(w)
    with w.session() as s, pytest.raises(InputError, match="authorise needs AuthorisationDetails"):
        transition(s, action=Action.AUTHORISE, actor="acc1", clock=w.clock, proposal_id=1,
                   details=RefusalDetails("No."))
    assert _head(w) == before


def test_consultation_advances_only_once_every_borough_has_answered(w: World) -> None:
    pid = walk_to(w, State.ASSESSED)
    r, e = _attempt(w, Action.CONSULT, "bob1", pid,
                    ConsultationDetails("E09000001", "support", "Agreed."))
    assert (r.from_state, r.to_state) == (State.ASSESSED, State.ASSESSED)
    assert e.detail_dict["to"] == "assessed" and e.detail_dict["borough"] == "E09000001"
    assert e.detail_dict["position"] == "support"
    r, e = _attempt(w, Action.CONSULT, "bob2", pid,
                    ConsultationDetails("E09000002", "object", "Tension high."))
    assert (r.from_state, r.to_state) == (State.ASSESSED, State.CONSULTED)
    with w.session() as s:
        rows = s.execute(select(Consultation).where(Consultation.proposal_id == pid)
                         .order_by(Consultation.id)).scalars().all()
        assert [(c.borough, c.position, c.reasons) for c in rows] == [
            ("E09000001", "support", "Agreed."), ("E09000002", "object", "Tension high.")]
        assert rows[0].recorded_at == w.clock.now()


# --- what each action writes ----------------------------------------------------------------


def _decisions(world: World, pid: int) -> list[Decision]:
    with world.session() as s:
        return list(s.execute(select(Decision).where(Decision.proposal_id == pid)
                              .order_by(Decision.id)).scalars())


def test_authorise_extend_cancel_debrief_review_write_their_records(w: World) -> None:
    pid = walk_to(w, State.CONSULTED)
    c = w.clock
    auth = authorisation(w, hours=6.0)
    r, e = _attempt(w, Action.AUTHORISE, "acc1", pid, auth)
    assert r.to_state is State.AUTHORISED
    assert {k: e.detail_dict[k] for k in ("start", "end", "rank")} == {
        "start": auth.start.isoformat(), "end": auth.end.isoformat(),
        "rank": "assistant_chief_constable"}
    [d] = _decisions(w, pid)
    assert (d.kind, d.window_start, d.window_end, d.reasons, d.rank) == (
        "authorise", auth.start, auth.end, auth.reasons, "assistant_chief_constable")
    assert d.details == {"tactical_commander": "tfc", "strategic_commander": "sfc",
                         "public_notice": auth.public_notice, "objection_response": None}
    assert d.ndm_rationale == ndm().to_dict() and d.decided_at == c.now()
    with w.session() as s:
        p = s.get(Proposal, pid)
        assert p is not None
        acc1 = p.authorised_by_id
        assert (p.authorised_start, p.authorised_end, p.state) == (auth.start, auth.end,
                                                                   "authorised")
    assert acc1 == d.decided_by_id
    c.advance(timedelta(hours=2))  # active now
    new_end = auth.end + timedelta(hours=2)
    r, e = _attempt(w, Action.EXTEND, "acc2", pid,
                    ExtensionDetails(new_end, "Further stabbing.", ndm()))
    assert (r.from_state, r.to_state) == (State.ACTIVE, State.ACTIVE)
    assert {k: e.detail_dict[k] for k in ("extension", "old_end", "new_end", "rank", "to")} == {
        "extension": 1, "old_end": auth.end.isoformat(), "new_end": new_end.isoformat(),
        "rank": "assistant_chief_constable", "to": "active"}
    ext = _decisions(w, pid)[-1]
    assert (ext.kind, ext.window_start, ext.window_end, ext.details) == (
        "extend", auth.end, new_end, {"extension": 1})
    assert ext.ndm_rationale == ndm().to_dict() and ext.reasons == "Further stabbing."
    with w.session() as s:
        p = s.get(Proposal, pid)
        assert p is not None and (p.authorised_end, p.extensions_used, p.state) == (
            new_end, 1, "authorised")
    r, e = _attempt(w, Action.CANCEL, "acc1", pid, CancellationDetails("Suspect arrested."))
    assert (r.from_state, r.to_state) == (State.ACTIVE, State.CANCELLED)
    assert e.detail_dict["reasons"] == "Suspect arrested."
    assert _decisions(w, pid)[-1].kind == "cancel"
    with w.session() as s:
        p = s.get(Proposal, pid)
        assert p is not None and p.cancelled_at == c.now() and p.state == "cancelled"
    r, e = _attempt(w, Action.DEBRIEF, "tfc", pid,
                    DebriefDetails("No incidents.", "Signed: tfc", {"stops": 2}))
    assert e.detail_dict["signed_off_by"] == "tfc" and r.to_state is State.DEBRIEFED
    with w.session() as s:
        [db] = s.execute(select(Debrief).where(Debrief.proposal_id == pid)).scalars()
        assert (db.summary, db.details) == ("No incidents.",
                                            {"sign_off": "Signed: tfc", "outcome": {"stops": 2}})
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
        "reasons": "Not corroborated.", "rank": "assistant_chief_constable"}
    [d] = _decisions(w, pid)
    assert (d.kind, d.reasons, d.window_start) == ("refuse", "Not corroborated.", None)


def test_assess_records_the_completed_assessment_it_rests_on(w: World) -> None:
    pid = walk_to(w, State.SUBMITTED)
    with w.session() as s:
        first = service.record_assessment(s, actor="cat", clock=w.clock, proposal_id=pid,
                                          payload={"summary": "draft"}, complete=False)
        done = service.record_assessment(s, actor="cat", clock=w.clock, proposal_id=pid,
                                         payload={"summary": "final"})
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
            service.propose(s, actor="ana", clock=w.clock,
                            details=details(w, start_in=100.0), submit_now=True)
        assert s.query(Proposal).count() == n
    [e] = _entries_after(w, before)
    assert (e.actor, e.action, e.target_id, e.outcome) == ("ana", "propose", "-", "denied")
    assert e.detail_dict == {"rule": err.value.rule, "reason": err.value.reason,
                             "rolled_back": True}
    pid = walk_to(w, State.SUBMITTED)
    before = _head(w)
    with w.session() as s, pytest.raises(Refused) as err:
        service.assess_with(s, actor="ana", clock=w.clock, proposal_id=pid,
                            payload={"summary": "mine"})
    [e] = _entries_after(w, before)
    assert (e.action, e.target_id, e.outcome) == ("assess", str(pid), "denied")
    assert e.detail_dict == {"rule": "role", "reason": err.value.reason, "rolled_back": True}
    with w.session() as s:
        assert s.query(CommunityImpactAssessment).filter_by(proposal_id=pid).count() == 0
    with w.session() as s:
        r = service.assess_with(s, actor="cat", clock=w.clock, proposal_id=pid,
                                payload={"summary": "fine"}, expected_version=_version(w, pid))
        assert s.query(CommunityImpactAssessment).filter_by(proposal_id=pid).count() == 1
    assert r.to_state is State.ASSESSED


def test_propose_and_submit_at_once_commits_both(w: World) -> None:
    before = _head(w)
    with w.session() as s:
        r = service.propose(s, actor="ana", clock=w.clock, details=details(w, start_in=1.0),
                            submit_now=True)
    assert r.action is Action.SUBMIT and r.to_state is State.SUBMITTED
    assert [(e.action, e.outcome) for e in _entries_after(w, before)] == [
        ("propose", "done"), ("submit", "done")]
