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
from typing import Any

from sqlalchemy.orm import Session

from patrolcast.governance import service
from patrolcast.governance.clock import Clock, as_utc
from patrolcast.oversight.cia import AssessmentContent, Evidence

__all__ = ["record_cia"]


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
    if complete:
        content.require_complete(today=as_utc(clock.now()).date())
    payload = {
        "content": content.as_dict(),
        "missing": content.missing(),
        "evidence": [e.as_dict() for e in evidence],
        "fairness_flags": list(fairness_flags),
    }
    return service.record_assessment(
        session, actor=actor, clock=clock, proposal_id=proposal_id, payload=payload,
        complete=complete,
    )
