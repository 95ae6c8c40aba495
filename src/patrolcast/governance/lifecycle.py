"""The deployment lifecycle: ONE transition table and ONE function that applies it.

``TRANSITIONS`` maps ``(state, action)`` to the next state. ``transition(...)`` looks the pair up
(against the *effective* state, so an authorisation past its end is ``expired`` whether or not a
job ran), runs the permission guards and the profile's policy guards, applies the action's
effect, and appends exactly one audit entry, all in one database transaction that it commits. A
refused attempt appends one ``denied`` audit entry (naming the rule and why) and raises
:class:`~patrolcast.governance.states.Refused` (a ``PermissionDenied``) or
:class:`~patrolcast.governance.states.InvalidTransition` (a ``ConflictError``). When the
function returns, the transition is durable (acknowledged).

Concurrency: the proposal row is locked (``SELECT ... FOR UPDATE`` on PostgreSQL; the whole write
transaction is ``BEGIN IMMEDIATE`` on SQLite), then the audit head row (so decisions whose guards
read other proposals, such as the cool-down, cannot pass concurrently), and the row carries a
version counter; a caller that
passes ``expected_version`` (the version it displayed) gets :class:`StaleProposal` if someone
else acted first. Two authorisers racing: one wins, the other gets a ``ConflictError``.

Public API
----------
``TRANSITIONS``, ``ADVANCE_WHEN``, ``transition(session, *, action, actor, clock,
proposal_id=None, details=None, expected_version=None) -> TransitionResult``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from patrolcast.errors import ConflictError, InputError
from patrolcast.governance import audit
from patrolcast.governance.clock import Clock, as_utc
from patrolcast.governance.db import KeptRefusal, run_keeping_refusals, run_transaction
from patrolcast.governance.expiry import effective_state
from patrolcast.governance.guards import GuardContext, permission_guards, policy_guards
from patrolcast.governance.models import (
    AuditHead,
    CommunityImpactAssessment,
    Consultation,
    Debrief,
    Decision,
    Proposal,
    Review,
)
from patrolcast.governance.policy_registry import pinned_profile, resolve_profile
from patrolcast.governance.roles import Actor, find_actor, log_name
from patrolcast.governance.states import (
    Action,
    InvalidTransition,
    Refused,
    StaleProposal,
    State,
)
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
    "ADVANCE_WHEN",
    "DETAILS",
    "TRANSITIONS",
    "TransitionResult",
    "apply_in_transaction",
    "run_atomically",
    "transition",
]

S, A = State, Action

#: The whole lifecycle. Nothing else decides which action is possible from which state.
TRANSITIONS: Mapping[tuple[State, Action], State] = MappingProxyType(
    {
        (S.NEW, A.PROPOSE): S.DRAFT,
        (S.DRAFT, A.SUBMIT): S.SUBMITTED,
        (S.SUBMITTED, A.ASSESS): S.ASSESSED,
        (S.ASSESSED, A.CONSULT): S.CONSULTED,  # once every borough has responded (ADVANCE_WHEN)
        (S.CONSULTED, A.AUTHORISE): S.AUTHORISED,
        (S.CONSULTED, A.REFUSE): S.REFUSED,
        (S.AUTHORISED, A.EXTEND): S.AUTHORISED,
        (S.ACTIVE, A.EXTEND): S.ACTIVE,
        (S.AUTHORISED, A.CANCEL): S.CANCELLED,
        (S.ACTIVE, A.CANCEL): S.CANCELLED,
        (S.EXPIRED, A.DEBRIEF): S.DEBRIEFED,
        (S.CANCELLED, A.DEBRIEF): S.DEBRIEFED,
        (S.DEBRIEFED, A.REVIEW): S.REVIEWED,
    }
)


def _all_boroughs_responded(session: Session, proposal: Proposal) -> bool:
    responded = set(
        session.execute(
            select(Consultation.borough).where(Consultation.proposal_id == proposal.id)
        ).scalars()
    )
    return set(proposal.boroughs) <= responded


#: Transitions that advance only when a condition holds; otherwise the state stays the same
#: (the action is still recorded and audited).
ADVANCE_WHEN: Mapping[tuple[State, Action], Callable[[Session, Proposal], bool]] = MappingProxyType(
    {(S.ASSESSED, A.CONSULT): _all_boroughs_responded}
)

#: The details value each action takes.
DETAILS: Mapping[Action, type | None] = MappingProxyType(
    {
        A.PROPOSE: ProposalDetails,
        A.SUBMIT: None,
        A.ASSESS: None,
        A.CONSULT: ConsultationDetails,
        A.AUTHORISE: AuthorisationDetails,
        A.REFUSE: RefusalDetails,
        A.EXTEND: ExtensionDetails,
        A.CANCEL: CancellationDetails,
        A.DEBRIEF: DebriefDetails,
        A.REVIEW: ReviewDetails,
    }
)

# States derived from time are stored as the state they derive from.
_STORED = {S.ACTIVE: S.AUTHORISED, S.EXPIRED: S.AUTHORISED}


@dataclass(frozen=True)
class TransitionResult:
    """An acknowledged transition."""

    proposal_id: int
    action: Action
    from_state: State
    to_state: State
    version: int
    audit_seq: int
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "proposal_id": self.proposal_id,
            "action": self.action.value,
            "from_state": self.from_state.value,
            "to_state": self.to_state.value,
            "version": self.version,
            "audit_seq": self.audit_seq,
            "at": self.at.isoformat(),
        }


def _deny(
    session: Session,
    *,
    username: str,
    action: Action,
    proposal_id: int | None,
    state: State | None,
    exc: Refused | InvalidTransition,
    now: datetime,
) -> None:
    audit.append(
        session,
        actor=username,
        action=action.value,
        target_type="proposal",
        target_id=proposal_id if proposal_id is not None else "-",
        outcome="denied",
        detail={
            "rule": exc.rule,
            "reason": exc.reason,
            "state": state.value if state else None,
        },
        now=now,
    )


def transition(
    session: Session,
    *,
    action: Action,
    actor: str,
    clock: Clock,
    proposal_id: int | None = None,
    details: Any = None,
    expected_version: int | None = None,
) -> TransitionResult:
    """Apply ``action`` to a proposal as ``actor`` at ``clock.now()``, audit it, commit.

    Parameters
    ----------
    session : an open session (no transaction in progress); the function commits.
    action : the lifecycle action; ``propose`` creates a draft (``proposal_id`` None).
    actor : the acting user's username.
    clock : the clock; read once.
    details : the action's details value (see ``DETAILS``).
    expected_version : the proposal version the caller saw; a mismatch is a conflict.

    Raises
    ------
    Refused : a permission or policy rule refused the attempt (audited as denied).
    InvalidTransition, StaleProposal : the state does not allow the action / the proposal moved
        on (ConflictError; audited as denied).
    InputError : details of the wrong type, or no such proposal (audited as denied).
    """
    action = Action(action)
    now = as_utc(clock.now())
    expected = DETAILS[action]
    if expected is not None and not isinstance(details, expected):
        raise InputError(f"{action} needs {expected.__name__} details")

    def work() -> TransitionResult:
        session.expire_all()  # never decide on rows cached from an earlier transaction
        return _apply(
            session,
            action=action,
            username=actor,
            now=now,
            proposal_id=proposal_id,
            details=details,
            expected_version=expected_version,
        )

    try:
        return run_keeping_refusals(session, work, commit_on=(Refused, InvalidTransition))
    except StaleDataError:
        raise ConflictError(
            f"proposal {proposal_id} changed while you were acting on it: reload and retry"
        ) from None


def apply_in_transaction(
    session: Session,
    *,
    action: Action,
    actor: str,
    now: datetime,
    proposal_id: int | None = None,
    details: Any = None,
    expected_version: int | None = None,
) -> TransitionResult:
    """One transition inside the caller's transaction (for :func:`run_atomically` steps)."""
    action = Action(action)
    expected = DETAILS[action]
    if expected is not None and not isinstance(details, expected):
        raise InputError(f"{action} needs {expected.__name__} details")
    return _apply(
        session,
        action=action,
        username=actor,
        now=as_utc(now),
        proposal_id=proposal_id,
        details=details,
        expected_version=expected_version,
    )


class _Undo(KeptRefusal):
    """Carries a refusal out of :func:`run_atomically`'s steps; unlike its base, everything the
    steps wrote is rolled back (only a fresh denial entry is then kept)."""


def run_atomically(
    session: Session,
    *,
    actor: str,
    action: str,
    now: datetime,
    proposal_id: int | None,
    steps: Sequence[Callable[[Any], Any]],
) -> Any:
    """Run several steps as one: all commit together, or nothing but the refusal is kept.

    Each step receives the previous step's result. When a step is refused, everything the
    steps wrote is rolled back and one ``denied`` entry for ``action`` (naming the rule, and
    that nothing was kept) is recorded instead; the refusal is then raised. (A proposal whose
    submission is refused leaves no draft; an assessment whose completion is refused is not
    kept.)
    """

    def work() -> Any:
        session.expire_all()
        out: Any = None
        for step in steps:
            try:
                out = step(out)
            except KeptRefusal as exc:
                raise _Undo(exc.error) from None
            except (Refused, InvalidTransition) as exc:
                raise _Undo(exc) from None
        return out

    try:
        return run_transaction(session, work)
    except _Undo as undo:
        err = undo.error

        def record() -> None:
            # as in _apply: the stored username, else a safe placeholder for a caller's string
            known = find_actor(session, actor)
            audit.append(
                session,
                actor=known.username if known is not None else log_name(actor),
                action=action,
                target_type="proposal",
                target_id=proposal_id if proposal_id is not None else "-",
                outcome="denied",
                detail={
                    "rule": getattr(err, "rule", "input"),
                    "reason": getattr(err, "reason", str(err)),
                    "rolled_back": True,
                },
                now=as_utc(now),
            )

        run_transaction(session, record)
        raise err from None


def _apply(
    session: Session,
    *,
    action: Action,
    username: str,
    now: datetime,
    proposal_id: int | None,
    details: Any,
    expected_version: int | None,
) -> TransitionResult:
    actor = find_actor(session, username)
    if actor is None:
        refused = Refused("unknown-user", f"{log_name(username)} is not a user of this system")
        _deny(
            session,
            username=log_name(username),
            action=action,
            proposal_id=proposal_id,
            state=None,
            exc=refused,
            now=now,
        )
        raise refused
    # the record names the stored username, never the caller's spelling of it ("Alice" for alice)
    username = actor.username

    proposal: Proposal | None = None
    if action is Action.PROPOSE:
        state = State.NEW
        profile_name = details.profile
    else:
        if proposal_id is None:
            raise InputError(f"{action} needs a proposal id")
        proposal = session.execute(
            select(Proposal)
            .where(Proposal.id == proposal_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one_or_none()
        if proposal is None:
            err = InputError(f"no proposal #{proposal_id}")
            audit.append(
                session,
                actor=username,
                action=action.value,
                target_type="proposal",
                target_id=proposal_id,
                outcome="denied",
                detail={"rule": "not-found", "reason": str(err), "state": None},
                now=now,
            )
            raise KeptRefusal(err)
        state = effective_state(
            proposal.state, proposal.authorised_start, proposal.authorised_end, now
        )
        profile_name = proposal.profile
        if expected_version is not None and proposal.version != expected_version:
            stale = StaleProposal(
                "stale-version",
                f"proposal #{proposal.id} changed since version {expected_version} "
                f"(now version {proposal.version}, {state}): reload and retry",
            )
            _deny(
                session,
                username=username,
                action=action,
                proposal_id=proposal.id,
                state=state,
                exc=stale,
                now=now,
            )
            raise stale
    try:
        if proposal is None:
            profile = resolve_profile(session, profile_name)
        else:
            profile = pinned_profile(
                session, profile_name, proposal.profile_version, proposal.profile_sha256
            )
    except Refused as refused:
        _deny(
            session,
            username=username,
            action=action,
            proposal_id=proposal_id,
            state=state,
            exc=refused,
            now=now,
        )
        raise
    # Serialise decisions across proposals too (PostgreSQL): the cool-down and cap guards read
    # other proposals, so two overlapping authorisations must not pass them concurrently
    # (write skew). Lock order is always proposal row, then the audit head row.
    session.execute(select(AuditHead.id).where(AuditHead.id == 1).with_for_update()).first()

    next_state = TRANSITIONS.get((state, action))
    if next_state is None:
        allowed = sorted(s.value for (s, a) in TRANSITIONS if a is action)
        invalid = InvalidTransition(
            "invalid-transition",
            f"cannot {action} proposal #{proposal_id if proposal_id is not None else '-'}: "
            f"it is {state.value} (only from {', '.join(allowed)})",
        )
        _deny(
            session,
            username=username,
            action=action,
            proposal_id=proposal_id,
            state=state,
            exc=invalid,
            now=now,
        )
        raise invalid

    ctx = GuardContext(
        session=session,
        actor=actor,
        action=action,
        state=state,
        proposal=proposal,
        profile=profile,
        details=details,
        now=now,
    )
    try:
        for guard in (*permission_guards(), *policy_guards(action)):
            guard(ctx)
    except Refused as refused:
        _deny(
            session,
            username=username,
            action=action,
            proposal_id=proposal_id,
            state=state,
            exc=refused,
            now=now,
        )
        raise

    proposal, detail = _EFFECTS[action](session, proposal, actor, details, now)
    if action is Action.PROPOSE:
        proposal.profile_version = profile.version
        proposal.profile_sha256 = profile.sha256
        detail = {**detail, "profile_version": profile.version, "profile_sha256": profile.sha256}
    advance = ADVANCE_WHEN.get((state, action))
    if advance is not None and not advance(session, proposal):
        next_state = state
    proposal.state = _STORED.get(next_state, next_state).value
    proposal.updated_at = now
    session.flush()
    entry = audit.append(
        session,
        actor=username,
        action=action.value,
        target_type="proposal",
        target_id=proposal.id,
        outcome="done",
        detail={"from": state.value, "to": next_state.value, "version": proposal.version, **detail},
        now=now,
    )
    return TransitionResult(
        proposal_id=proposal.id,
        action=action,
        from_state=state,
        to_state=next_state,
        version=proposal.version,
        audit_seq=entry.seq,
        at=now,
    )


# --- effects: what each action writes (guards have already passed) ---------------------------

Effect = Callable[[Session, Proposal | None, Actor, Any, datetime], tuple[Proposal, dict[str, Any]]]


def _propose(
    session: Session, _p: Proposal | None, actor: Actor, d: ProposalDetails, now: datetime
) -> tuple[Proposal, dict[str, Any]]:
    t = d.trigger
    p = Proposal(
        profile=d.profile,
        state=State.DRAFT.value,
        proposer_id=actor.person_id,
        trigger_type=t.kind,
        incident_offence=t.offence,
        incident_at=t.occurred_at,
        incident_place=t.place,
        intelligence_item_id=t.intelligence_item_id,
        intelligence_grade=t.grade,
        area_wkt=d.area.wkt,
        area_crs=d.area.crs,
        area_cells=list(d.area.cells),
        area_km2=d.area.area_km2,
        boroughs=list(d.area.boroughs),
        requested_start=d.start,
        requested_end=d.end,
        ndm_rationale=d.ndm.to_dict(),
        snapshot_id=d.snapshot_id,
        extensions_used=0,
        created_at=now,
        updated_at=now,
    )
    session.add(p)
    session.flush()
    return p, {
        "profile": d.profile,
        "trigger": t.kind,
        "boroughs": list(d.area.boroughs),
        "area_km2": round(d.area.area_km2, 6),
        "snapshot_id": d.snapshot_id,
    }


def _no_effect(
    session: Session, p: Proposal | None, actor: Actor, d: Any, now: datetime
) -> tuple[Proposal, dict[str, Any]]:
    assert p is not None
    return p, {}


def _assess(
    session: Session, p: Proposal | None, actor: Actor, d: Any, now: datetime
) -> tuple[Proposal, dict[str, Any]]:
    assert p is not None
    cia = session.execute(
        select(func.max(CommunityImpactAssessment.id)).where(
            CommunityImpactAssessment.proposal_id == p.id,
            CommunityImpactAssessment.completed_at.is_not(None),
        )
    ).scalar_one()
    return p, {"assessment_id": cia}


def _consult(
    session: Session, p: Proposal | None, actor: Actor, d: ConsultationDetails, now: datetime
) -> tuple[Proposal, dict[str, Any]]:
    assert p is not None
    session.add(
        Consultation(
            proposal_id=p.id,
            borough=d.borough,
            commander_id=actor.person_id,
            position=d.position,
            reasons=d.reasons,
            recorded_at=now,
        )
    )
    session.flush()
    return p, {"borough": d.borough, "position": d.position}


def _decision(
    session: Session,
    p: Proposal,
    actor: Actor,
    kind: str,
    reasons: str,
    now: datetime,
    **extra: Any,
) -> Decision:
    decision = Decision(
        proposal_id=p.id,
        kind=kind,
        decided_by_id=actor.person_id,
        rank=actor.rank.value if actor.rank else None,
        reasons=reasons,
        decided_at=now,
        **extra,
    )
    session.add(decision)
    return decision


def _authorise(
    session: Session, p: Proposal | None, actor: Actor, d: AuthorisationDetails, now: datetime
) -> tuple[Proposal, dict[str, Any]]:
    assert p is not None
    details = {
        "tactical_commander": d.tactical_commander,
        "strategic_commander": d.strategic_commander,
        "public_notice": d.public_notice,
        "objection_response": d.objection_response,
    }
    _decision(
        session,
        p,
        actor,
        "authorise",
        d.reasons,
        now,
        ndm_rationale=d.ndm.to_dict(),
        details=details,
        window_start=d.start,
        window_end=d.end,
    )
    p.authorised_start, p.authorised_end, p.authorised_by_id = d.start, d.end, actor.person_id
    return p, {"start": d.start.isoformat(), "end": d.end.isoformat(), "rank": _rank(actor)}


def _rank(actor: Actor) -> str | None:
    return actor.rank.value if actor.rank else None


def _refuse(
    session: Session, p: Proposal | None, actor: Actor, d: RefusalDetails, now: datetime
) -> tuple[Proposal, dict[str, Any]]:
    assert p is not None
    _decision(session, p, actor, "refuse", d.reasons, now)
    return p, {"reasons": d.reasons, "rank": _rank(actor)}


def _extend(
    session: Session, p: Proposal | None, actor: Actor, d: ExtensionDetails, now: datetime
) -> tuple[Proposal, dict[str, Any]]:
    assert p is not None and p.authorised_end is not None
    old_end = p.authorised_end
    _decision(
        session,
        p,
        actor,
        "extend",
        d.reasons,
        now,
        ndm_rationale=d.ndm.to_dict() if d.ndm else None,
        window_start=old_end,
        window_end=d.new_end,
        details={"extension": p.extensions_used + 1},
    )
    p.authorised_end = d.new_end
    p.extensions_used = p.extensions_used + 1
    return p, {
        "extension": p.extensions_used,
        "old_end": old_end.isoformat(),
        "new_end": d.new_end.isoformat(),
        "rank": _rank(actor),
    }


def _cancel(
    session: Session, p: Proposal | None, actor: Actor, d: CancellationDetails, now: datetime
) -> tuple[Proposal, dict[str, Any]]:
    assert p is not None
    _decision(session, p, actor, "cancel", d.reasons, now)
    p.cancelled_at = now
    return p, {"reasons": d.reasons}


def _debrief(
    session: Session, p: Proposal | None, actor: Actor, d: DebriefDetails, now: datetime
) -> tuple[Proposal, dict[str, Any]]:
    assert p is not None
    session.add(
        Debrief(
            proposal_id=p.id,
            summary=d.summary,
            details={"sign_off": d.sign_off, "outcome": d.outcome},
            signed_off_by_id=actor.person_id,
            signed_off_at=now,
        )
    )
    return p, {"signed_off_by": actor.username}


def _review(
    session: Session, p: Proposal | None, actor: Actor, d: ReviewDetails, now: datetime
) -> tuple[Proposal, dict[str, Any]]:
    assert p is not None
    session.add(
        Review(
            proposal_id=p.id, findings=d.findings, reviewed_by_id=actor.person_id, reviewed_at=now
        )
    )
    return p, {}


_EFFECTS: Mapping[Action, Effect] = MappingProxyType(
    {
        A.PROPOSE: _propose,
        A.SUBMIT: _no_effect,
        A.ASSESS: _assess,
        A.CONSULT: _consult,
        A.AUTHORISE: _authorise,
        A.REFUSE: _refuse,
        A.EXTEND: _extend,
        A.CANCEL: _cancel,
        A.DEBRIEF: _debrief,
        A.REVIEW: _review,
    }
)
