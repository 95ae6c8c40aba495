"""Recording a community impact assessment against a proposal (through governance's hook).

:func:`record_cia` refuses to *complete* an assessment while a required field is empty
(:meth:`~patrolcast.oversight.cia.AssessmentContent.require_complete`); a draft (``complete``
false) may be saved with fields missing. The stored payload holds the content, the computed
evidence (each with source, period and any missing-data statement) and any fairness flags, so
the authorising officer reads them together. Governance's
:func:`~patrolcast.governance.service.record_assessment` checks the role (community lead, not the
proposer), stores the row and audits the attempt.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from patrolcast.governance import service
from patrolcast.governance.clock import Clock, as_utc
from patrolcast.oversight.cia import AssessmentContent, Evidence

__all__ = ["assessment_payload", "record_cia"]


def assessment_payload(
    content: AssessmentContent,
    *,
    today: date,
    evidence: Sequence[Evidence] = (),
    fairness_flags: Sequence[dict[str, Any]] = (),
    complete: bool = True,
) -> dict[str, Any]:
    """The stored form of an assessment; a complete one must have every required field."""
    if complete:
        content.require_complete(today=today)
    return {
        "content": content.as_dict(),
        "missing": content.missing(),
        "evidence": [e.as_dict() for e in evidence],
        "fairness_flags": list(fairness_flags),
    }


def record_cia(
    session: Session,
    *,
    actor: str,
    clock: Clock,
    proposal_id: int,
    content: AssessmentContent,
    evidence: Sequence[Evidence] = (),
    fairness_flags: Sequence[dict[str, Any]] = (),
    complete: bool = True,
) -> int:
    """Attach an assessment to a proposal; returns its id."""
    payload = assessment_payload(
        content,
        today=as_utc(clock.now()).date(),
        evidence=evidence,
        fairness_flags=fairness_flags,
        complete=complete,
    )
    return service.record_assessment(
        session, actor=actor, clock=clock, proposal_id=proposal_id, payload=payload,
        complete=complete,
    )
