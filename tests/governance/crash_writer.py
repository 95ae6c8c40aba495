"""A writer for the crash test: performs lifecycle transitions until told how many exist.

Run as ``python -m tests.governance.crash_writer DB_URL TARGET``. It resumes from whatever the
database holds, and after each acknowledged (committed) transition prints
``ACK <audit_seq> <proposal_id> <action> <version>`` and flushes. The parent kills it with
SIGKILL at random moments.
"""

from __future__ import annotations

import sys
from datetime import timedelta

from sqlalchemy import func, select

from patrolcast.governance import service
from patrolcast.governance.clock import SystemClock
from patrolcast.governance.db import open_database
from patrolcast.governance.lifecycle import TransitionResult
from patrolcast.governance.models import AuditEntry, Proposal
from patrolcast.governance.states import Action, State
from patrolcast.governance.values import (
    AuthorisationDetails,
    CancellationDetails,
    ConsultationDetails,
    DebriefDetails,
    ReviewDetails,
)
from tests.governance.helpers import World, details, ndm

LIFECYCLE = [a.value for a in Action]


def transitions_done(session: object) -> int:
    return int(
        session.execute(  # type: ignore[attr-defined]
            select(func.count(AuditEntry.seq)).where(
                AuditEntry.outcome == "done", AuditEntry.action.in_(LIFECYCLE)
            )
        ).scalar_one()
    )


def step(world: World, session: object) -> TransitionResult:
    c = world.clock
    s = session
    latest = s.execute(select(Proposal).order_by(Proposal.id.desc()).limit(1)).scalar_one_or_none()  # type: ignore[attr-defined]
    if latest is not None:
        s.refresh(latest)  # type: ignore[attr-defined]
    if latest is None or latest.state in (State.REVIEWED.value, State.REFUSED.value):
        n = 0 if latest is None else latest.id
        return service.propose(
            s,
            actor="ana",
            clock=c,  # type: ignore[arg-type]
            details=details(world, offset=2000.0 * (n + 1)),
        )
    pid, state = latest.id, State(latest.state)
    if state is State.DRAFT:
        return service.submit(s, actor="ana", clock=c, proposal_id=pid)  # type: ignore[arg-type]
    if state is State.SUBMITTED:
        service.record_assessment(
            s,
            actor="cat",
            clock=c,
            proposal_id=pid,  # type: ignore[arg-type]
            payload={"ok": True},
        )
        return service.assess(s, actor="cat", clock=c, proposal_id=pid)  # type: ignore[arg-type]
    if state is State.ASSESSED:
        done = set(
            s.execute(  # type: ignore[attr-defined]
                select(func.count()).select_from(Proposal).where(Proposal.id == pid)
            ).scalars()
        )
        del done
        from patrolcast.governance.models import Consultation

        have = set(
            s.execute(
                select(Consultation.borough).where(  # type: ignore[attr-defined]
                    Consultation.proposal_id == pid
                )
            ).scalars()
        )
        who, b = ("bob1", "E09000001") if "E09000001" not in have else ("bob2", "E09000002")
        return service.consult(
            s,
            actor=who,
            clock=c,
            proposal_id=pid,  # type: ignore[arg-type]
            details=ConsultationDetails(b, "support", "ok"),
        )
    if state is State.CONSULTED:
        now = c.now()
        return service.authorise(
            s,
            actor="acc1",
            clock=c,
            proposal_id=pid,  # type: ignore[arg-type]
            details=AuthorisationDetails(
                start=now,
                end=now + timedelta(hours=4),
                reasons="r",
                ndm=ndm(),
                tactical_commander="tfc",
                strategic_commander="sfc",
                public_notice="n",
            ),
        )
    if state is State.AUTHORISED:
        return service.cancel(
            s,
            actor="tfc",
            clock=c,
            proposal_id=pid,  # type: ignore[arg-type]
            details=CancellationDetails("lapsed"),
        )
    if state is State.CANCELLED:
        return service.debrief(
            s,
            actor="tfc",
            clock=c,
            proposal_id=pid,  # type: ignore[arg-type]
            details=DebriefDetails("quiet", "signed"),
        )
    if state is State.DEBRIEFED:
        return service.review(
            s,
            actor="acc2",  # independent of everyone who decided on it
            clock=c,
            proposal_id=pid,  # type: ignore[arg-type]
            details=ReviewDetails("fine"),
        )
    raise RuntimeError(f"unexpected state {state}")


def main(url: str, target: int) -> None:
    db = open_database(url, create=False)  # synchronous=FULL: the production setting
    world = World(db=db, clock=SystemClock(), snapshot_id=1)  # type: ignore[arg-type]
    with db.session() as s:
        while transitions_done(s) < target:
            r = step(world, s)
            sys.stdout.write(f"ACK {r.audit_seq} {r.proposal_id} {r.action.value} {r.version}\n")
            sys.stdout.flush()
    sys.stdout.write("DONE\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
