"""Service functions over the lifecycle: one call per action, all keyword-only, session first.

Each action function is a thin, typed wrapper around
:func:`patrolcast.governance.lifecycle.transition` (which checks, applies, audits and commits).
Reads of proposals are *sensitive reads*: :func:`read_proposal` and :func:`list_proposals`
append a ``read`` audit entry (a denied read is audited too).

Public API
----------
``propose``, ``submit``, ``assess``, ``consult``, ``authorise``, ``refuse``, ``extend``,
``cancel``, ``debrief``, ``review`` (all return ``TransitionResult``), ``record_assessment``
(the minimal community impact assessment hook), ``read_proposal -> ProposalView``,
``list_proposals -> list[ProposalView]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from patrolcast.errors import InputError, PermissionDenied
from patrolcast.governance import audit
from patrolcast.governance.clock import Clock, as_utc
from patrolcast.governance.db import run_transaction
from patrolcast.governance.expiry import effective_state
from patrolcast.governance.guards import proposal_read_basis
from patrolcast.governance.lifecycle import (
    TransitionResult,
    apply_in_transaction,
    run_atomically,
    transition,
)
from patrolcast.governance.models import (
    CommunityImpactAssessment,
    Consultation,
    Decision,
    Person,
    Proposal,
)
from patrolcast.governance.roles import Actor, Role, find_actor, log_name
from patrolcast.governance.signing import SIGNER_INFO_KEY
from patrolcast.governance.states import Action, Refused, State
from patrolcast.governance.values import (
    AuthorisationDetails,
    CancellationDetails,
    ConsultationDetails,
    DebriefDetails,
    ExtensionDetails,
    ProposalDetails,
    RefusalDetails,
    ReviewDetails,
)

__all__ = [
    "ProposalView",
    "assess",
    "assess_with",
    "authorise",
    "cancel",
    "consult",
    "debrief",
    "export_audit",
    "extend",
    "list_proposals",
    "propose",
    "read_proposal",
    "record_assessment",
    "refuse",
    "review",
    "submit",
]


def propose(
    session: Session,
    *,
    actor: str,
    clock: Clock,
    details: ProposalDetails,
    submit_now: bool = False,
) -> TransitionResult:
    """Create a draft, and optionally submit it in the same transaction (both or neither)."""
    if not submit_now:
        return transition(session, action=Action.PROPOSE, actor=actor, clock=clock, details=details)
    now = as_utc(clock.now())
    return run_atomically(
        session,
        actor=actor,
        action=Action.PROPOSE.value,
        now=now,
        proposal_id=None,
        steps=(
            lambda _: apply_in_transaction(
                session, action=Action.PROPOSE, actor=actor, now=now, details=details
            ),
            lambda made: apply_in_transaction(
                session,
                action=Action.SUBMIT,
                actor=actor,
                now=now,
                proposal_id=made.proposal_id,
            ),
        ),
    )


def assess_with(
    session: Session,
    *,
    actor: str,
    clock: Clock,
    proposal_id: int,
    payload: dict[str, Any],
    expected_version: int | None = None,
) -> TransitionResult:
    """Record a completed assessment and mark the proposal assessed: both or neither."""
    now = as_utc(clock.now())
    return run_atomically(
        session,
        actor=actor,
        action=Action.ASSESS.value,
        now=now,
        proposal_id=proposal_id,
        steps=(
            lambda _: _record_assessment(
                session,
                actor=actor,
                now=now,
                proposal_id=proposal_id,
                payload=payload,
                complete=True,
            ),
            lambda _: apply_in_transaction(
                session,
                action=Action.ASSESS,
                actor=actor,
                now=now,
                proposal_id=proposal_id,
                expected_version=expected_version,
            ),
        ),
    )


def submit(
    session: Session,
    *,
    actor: str,
    clock: Clock,
    proposal_id: int,
    expected_version: int | None = None,
) -> TransitionResult:
    return transition(
        session,
        action=Action.SUBMIT,
        actor=actor,
        clock=clock,
        proposal_id=proposal_id,
        expected_version=expected_version,
    )


def assess(
    session: Session,
    *,
    actor: str,
    clock: Clock,
    proposal_id: int,
    expected_version: int | None = None,
) -> TransitionResult:
    return transition(
        session,
        action=Action.ASSESS,
        actor=actor,
        clock=clock,
        proposal_id=proposal_id,
        expected_version=expected_version,
    )


def consult(
    session: Session,
    *,
    actor: str,
    clock: Clock,
    proposal_id: int,
    details: ConsultationDetails,
    expected_version: int | None = None,
) -> TransitionResult:
    return transition(
        session,
        action=Action.CONSULT,
        actor=actor,
        clock=clock,
        proposal_id=proposal_id,
        details=details,
        expected_version=expected_version,
    )


def authorise(
    session: Session,
    *,
    actor: str,
    clock: Clock,
    proposal_id: int,
    details: AuthorisationDetails,
    expected_version: int | None = None,
) -> TransitionResult:
    return transition(
        session,
        action=Action.AUTHORISE,
        actor=actor,
        clock=clock,
        proposal_id=proposal_id,
        details=details,
        expected_version=expected_version,
    )


def refuse(
    session: Session,
    *,
    actor: str,
    clock: Clock,
    proposal_id: int,
    details: RefusalDetails,
    expected_version: int | None = None,
) -> TransitionResult:
    return transition(
        session,
        action=Action.REFUSE,
        actor=actor,
        clock=clock,
        proposal_id=proposal_id,
        details=details,
        expected_version=expected_version,
    )


def extend(
    session: Session,
    *,
    actor: str,
    clock: Clock,
    proposal_id: int,
    details: ExtensionDetails,
    expected_version: int | None = None,
) -> TransitionResult:
    return transition(
        session,
        action=Action.EXTEND,
        actor=actor,
        clock=clock,
        proposal_id=proposal_id,
        details=details,
        expected_version=expected_version,
    )


def cancel(
    session: Session,
    *,
    actor: str,
    clock: Clock,
    proposal_id: int,
    details: CancellationDetails,
    expected_version: int | None = None,
) -> TransitionResult:
    return transition(
        session,
        action=Action.CANCEL,
        actor=actor,
        clock=clock,
        proposal_id=proposal_id,
        details=details,
        expected_version=expected_version,
    )


def debrief(
    session: Session,
    *,
    actor: str,
    clock: Clock,
    proposal_id: int,
    details: DebriefDetails,
    expected_version: int | None = None,
) -> TransitionResult:
    return transition(
        session,
        action=Action.DEBRIEF,
        actor=actor,
        clock=clock,
        proposal_id=proposal_id,
        details=details,
        expected_version=expected_version,
    )


def review(
    session: Session,
    *,
    actor: str,
    clock: Clock,
    proposal_id: int,
    details: ReviewDetails,
    expected_version: int | None = None,
) -> TransitionResult:
    return transition(
        session,
        action=Action.REVIEW,
        actor=actor,
        clock=clock,
        proposal_id=proposal_id,
        details=details,
        expected_version=expected_version,
    )


def record_assessment(
    session: Session,
    *,
    actor: str,
    clock: Clock,
    proposal_id: int,
    payload: dict[str, Any],
    complete: bool = True,
) -> int:
    """Attach a community impact assessment (minimal hook; oversight owns its content).

    Only a community lead who is not the proposer may record one; audited either way.
    Returns the assessment id.
    """
    now = as_utc(clock.now())
    return run_transaction(
        session,
        lambda: _record_assessment(
            session,
            actor=actor,
            now=now,
            proposal_id=proposal_id,
            payload=payload,
            complete=complete,
        ),
        commit_on=(Refused,),
    )


def _record_assessment(
    session: Session,
    *,
    actor: str,
    now: datetime,
    proposal_id: int,
    payload: dict[str, Any],
    complete: bool,
) -> int:
    """The assessment row and its audit entry, inside the caller's transaction."""
    who = find_actor(session, actor)
    proposal = session.get(Proposal, proposal_id)
    reason = None
    if who is None:
        reason = ("unknown-user", f"{log_name(actor)} is not a user of this system")
    elif not who.has(Role.COMMUNITY_LEAD):
        reason = ("role", "a community impact assessment needs the role community_lead")
    elif proposal is None:
        reason = ("not-found", f"no proposal #{proposal_id}")
    elif proposal.proposer_id == who.person_id:
        reason = ("separation-of-duties", "nobody may assess their own proposal")
    if reason is not None:
        audit.append(
            session,
            actor=log_name(actor),
            action="assessment_record",
            target_type="proposal",
            target_id=proposal_id,
            outcome="denied",
            detail={"rule": reason[0], "reason": reason[1]},
            now=now,
        )
        raise Refused(*reason)
    row = CommunityImpactAssessment(
        proposal_id=proposal_id,
        payload=dict(payload),
        created_at=now,
        completed_at=now if complete else None,
        completed_by=actor if complete else None,
    )
    session.add(row)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="assessment_record",
        target_type="proposal",
        target_id=proposal_id,
        outcome="done",
        detail={"assessment_id": row.id, "complete": complete},
        now=now,
    )
    return row.id


@dataclass(frozen=True)
class ProposalView:
    """A proposal as shown to a reader, with its effective state at the time of reading."""

    id: int
    version: int
    profile: str
    stored_state: str
    state: State
    proposer: str
    trigger: dict[str, Any]
    area_wkt: str
    area_km2: float
    boroughs: tuple[str, ...]
    requested_start: datetime
    requested_end: datetime
    authorised_start: datetime | None
    authorised_end: datetime | None
    extensions_used: int
    cancelled_at: datetime | None
    snapshot_id: int | None
    ndm_rationale: dict[str, str]
    consultations: tuple[dict[str, Any], ...]
    decisions: tuple[dict[str, Any], ...]

    @property
    def active(self) -> bool:
        return self.state is State.ACTIVE

    def to_dict(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return None if t is None else t.isoformat()

        return {
            "id": self.id,
            "version": self.version,
            "profile": self.profile,
            "state": self.state.value,
            "proposer": self.proposer,
            "trigger": self.trigger,
            "area_km2": round(self.area_km2, 6),
            "area_wkt": self.area_wkt,
            "stored_state": self.stored_state,
            "boroughs": list(self.boroughs),
            "requested_start": iso(self.requested_start),
            "requested_end": iso(self.requested_end),
            "authorised_start": iso(self.authorised_start),
            "authorised_end": iso(self.authorised_end),
            "extensions_used": self.extensions_used,
            "cancelled_at": iso(self.cancelled_at),
            "snapshot_id": self.snapshot_id,
            "ndm_rationale": self.ndm_rationale,
            "consultations": list(self.consultations),
            "decisions": list(self.decisions),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ProposalView:
        """The view back from :meth:`to_dict` (as an API client receives it)."""

        def when(key: str) -> datetime | None:
            value = d.get(key)
            return None if value is None else as_utc(datetime.fromisoformat(str(value)))

        start, end = when("requested_start"), when("requested_end")
        assert start is not None and end is not None
        return cls(
            id=int(d["id"]),
            version=int(d["version"]),
            profile=str(d["profile"]),
            stored_state=str(d.get("stored_state", d["state"])),
            state=State(d["state"]),
            proposer=str(d["proposer"]),
            trigger=dict(d.get("trigger") or {}),
            area_wkt=str(d.get("area_wkt", "")),
            area_km2=float(d["area_km2"]),
            boroughs=tuple(d.get("boroughs") or ()),
            requested_start=start,
            requested_end=end,
            authorised_start=when("authorised_start"),
            authorised_end=when("authorised_end"),
            extensions_used=int(d.get("extensions_used") or 0),
            cancelled_at=when("cancelled_at"),
            snapshot_id=d.get("snapshot_id"),
            ndm_rationale=dict(d.get("ndm_rationale") or {}),
            consultations=tuple(d.get("consultations") or ()),
            decisions=tuple(d.get("decisions") or ()),
        )


def _names(session: Session) -> dict[int, str]:
    return {row[0]: row[1] for row in session.execute(select(Person.id, Person.username))}


def _records_by_proposal(
    session: Session, ids: list[int]
) -> tuple[dict[int, list[Consultation]], dict[int, list[Decision]]]:
    """Consultations and decisions of many proposals in two queries (not two per proposal)."""
    consults: dict[int, list[Consultation]] = {i: [] for i in ids}
    decided: dict[int, list[Decision]] = {i: [] for i in ids}
    for c in session.execute(
        select(Consultation).where(Consultation.proposal_id.in_(ids)).order_by(Consultation.id)
    ).scalars():
        consults[c.proposal_id].append(c)
    for d in session.execute(
        select(Decision).where(Decision.proposal_id.in_(ids)).order_by(Decision.id)
    ).scalars():
        decided[d.proposal_id].append(d)
    return consults, decided


def _view(
    session: Session,
    p: Proposal,
    now: datetime,
    names: dict[int, str] | None = None,
    records: tuple[list[Consultation], list[Decision]] | None = None,
) -> ProposalView:
    names = _names(session) if names is None else names
    if records is None:
        consults, decided = _records_by_proposal(session, [p.id])
        records = (consults[p.id], decided[p.id])
    consultations = tuple(
        {
            "borough": c.borough,
            "position": c.position,
            "reasons": c.reasons,
            "commander": names.get(c.commander_id),
            "at": c.recorded_at.isoformat(),
        }
        for c in records[0]
    )
    decisions = tuple(
        {
            "kind": d.kind,
            "by": names.get(d.decided_by_id),
            "rank": d.rank,
            "reasons": d.reasons,
            "start": d.window_start.isoformat() if d.window_start else None,
            "end": d.window_end.isoformat() if d.window_end else None,
            "at": d.decided_at.isoformat(),
        }
        for d in records[1]
    )
    trigger: dict[str, Any] = {"type": p.trigger_type}
    if p.trigger_type == "incident":
        trigger.update(
            offence=p.incident_offence,
            place=p.incident_place,
            occurred_at=p.incident_at.isoformat() if p.incident_at else None,
        )
    else:
        trigger.update(intelligence_item_id=p.intelligence_item_id, grade=p.intelligence_grade)
    return ProposalView(
        id=p.id,
        version=p.version,
        profile=p.profile,
        stored_state=p.state,
        state=effective_state(p.state, p.authorised_start, p.authorised_end, now),
        proposer=names.get(p.proposer_id, "?"),
        trigger=trigger,
        area_wkt=p.area_wkt,
        area_km2=p.area_km2,
        boroughs=tuple(p.boroughs),
        requested_start=p.requested_start,
        requested_end=p.requested_end,
        authorised_start=p.authorised_start,
        authorised_end=p.authorised_end,
        extensions_used=p.extensions_used,
        cancelled_at=p.cancelled_at,
        snapshot_id=p.snapshot_id,
        ndm_rationale=dict(p.ndm_rationale),
        consultations=consultations,
        decisions=decisions,
    )


class _ReadNotFound(InputError):
    """No such proposal (the denied read is already in the audit log)."""


def _audited_read(session: Session, *, actor: str, now: datetime, target: str, fetch: Any) -> Any:
    """Run ``fetch(who)`` as an audited read: an unknown user, a read outside the actor's scope
    (:func:`~patrolcast.governance.guards.read_basis`) or a missing proposal is appended as a
    ``denied`` entry naming the rule (never the caller's text), then raised."""
    by = log_name(actor)

    def deny(rule: str, reason: str) -> None:
        audit.append(
            session,
            actor=by,
            action="read",
            target_type="proposal",
            target_id=target,
            outcome="denied",
            detail={"rule": rule, "reason": reason},
            now=now,
        )

    def work() -> Any:
        who = find_actor(session, actor)
        if who is None:
            deny("unknown-user", "not a user")
            raise Refused("unknown-user", f"{by} is not a user of this system")
        try:
            result, detail = fetch(who)
        except Refused as refused:
            deny(refused.rule, refused.reason)
            raise
        except _ReadNotFound as missing:
            deny("not-found", str(missing))
            raise
        audit.append(
            session,
            actor=by,
            action="read",
            target_type="proposal",
            target_id=target,
            outcome="read",
            detail=detail,
            now=now,
        )
        return result

    return run_transaction(session, work, commit_on=(Refused, _ReadNotFound))


def read_proposal(session: Session, *, actor: str, clock: Clock, proposal_id: int) -> ProposalView:
    """One proposal with its effective state at ``clock.now()`` (an audited read).

    Only readers the read rule allows (:func:`~patrolcast.governance.guards.read_basis`):
    others are refused (``read-scope``) and the attempt is audited.
    """
    now = as_utc(clock.now())
    if isinstance(proposal_id, bool) or not isinstance(proposal_id, int):
        raise InputError("a proposal id is a whole number")

    def fetch(who: Actor) -> tuple[ProposalView, dict[str, Any]]:
        p = session.get(Proposal, proposal_id, populate_existing=True)
        if p is None:
            raise _ReadNotFound(f"no proposal #{proposal_id}")
        basis, _facts = proposal_read_basis(session, who, p, now)
        if basis is None:
            raise Refused(
                "read-scope",
                f"{who.username} may not read proposal #{proposal_id}: only administrators, "
                "oversight auditors, its proposer, those who decided on it, the commanders of "
                "the boroughs it touches, and roles with a part to play in its current state",
            )
        return _view(session, p, now), {"basis": basis}

    return _audited_read(session, actor=actor, now=now, target=str(proposal_id), fetch=fetch)


def list_proposals(
    session: Session, *, actor: str, clock: Clock, state: State | None = None
) -> list[ProposalView]:
    """The proposals the actor may read (optionally in one effective state), an audited read.

    The same read rule as :func:`read_proposal` filters the list; a user with no role at all
    is refused (``read-scope``).
    """
    now = as_utc(clock.now())

    def fetch(who: Actor) -> tuple[list[ProposalView], dict[str, Any]]:
        if not who.roles:
            raise Refused("read-scope", f"{who.username} holds no role: nothing to read")
        rows = session.execute(
            select(Proposal).order_by(Proposal.id).execution_options(populate_existing=True)
        ).scalars()
        views = []
        names = _names(session)
        readable = []
        for p in rows:
            stored = effective_state(p.state, p.authorised_start, p.authorised_end, now)
            if state is not None and stored is not state:
                continue
            basis, _facts = proposal_read_basis(session, who, p, now)
            if basis is not None:
                readable.append(p)
        consults, decided = _records_by_proposal(session, [p.id for p in readable])
        for p in readable:
            views.append(_view(session, p, now, names, (consults[p.id], decided[p.id])))
        return views, {"count": len(views), "ids": [v.id for v in views]}

    return _audited_read(session, actor=actor, now=now, target="*", fetch=fetch)


#: Who may export the audit log and its checkpoint (a sensitive read of every record).
AUDIT_EXPORT_ROLES = frozenset({Role.OVERSIGHT_AUDITOR, Role.ADMINISTRATOR})


def export_audit(
    session: Session, *, actor: str, clock: Clock, since: int = 0
) -> audit.AuditExport:
    """Entries after ``since`` and a checkpoint, for an oversight auditor or an administrator.

    The export is audited first, so the entries end with the export's own entry and the
    checkpoint (signed when the session has the server's signer) covers it; a refused attempt is
    audited too. Unpacks as ``entries, checkpoint``; ``.to_dict()`` / ``.write(path)`` give the
    one export file that :func:`patrolcast.governance.audit.verify_export` checks."""
    now = as_utc(clock.now())
    by = log_name(actor)  # the caller's text is never written or echoed as given

    def work() -> audit.AuditExport:
        who = find_actor(session, actor)
        if who is None or not who.roles & AUDIT_EXPORT_ROLES:
            reason = "exporting the audit log needs the role oversight_auditor or administrator"
            audit.append(
                session,
                actor=by,
                action="audit_export",
                target_type="audit",
                target_id="-",
                outcome="denied",
                detail={"rule": "role" if who else "unknown-user", "reason": reason},
                now=now,
            )
            raise PermissionDenied(f"refused: {by}: {reason}")
        entry = audit.append(
            session,
            actor=who.username,
            action="audit_export",
            target_type="audit",
            target_id="-",
            outcome="read",
            detail={"since": since},
            now=now,
        )
        entries = audit.export_entries(session, since=since)
        cp = audit.checkpoint(session, now=now)
        assert cp.seq == entry.seq
        signer = session.info.get(SIGNER_INFO_KEY)
        return audit.AuditExport(
            entries=entries,
            checkpoint=cp,
            since=since,
            public_key_pem=signer.public_key_pem() if signer is not None else None,
        )

    return run_transaction(session, work, commit_on=(PermissionDenied,))
