"""States and actions of the deployment lifecycle, and the refusals a transition can meet."""

from __future__ import annotations

from enum import StrEnum

from patrolcast.errors import ConflictError, PermissionDenied

__all__ = ["Action", "InvalidTransition", "Refused", "State", "StaleProposal"]


class State(StrEnum):
    NEW = "new"  # pseudo-state before a draft exists (the source of ``propose``)
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ASSESSED = "assessed"
    CONSULTED = "consulted"
    AUTHORISED = "authorised"
    REFUSED = "refused"
    ACTIVE = "active"  # derived from UTC time, never stored
    EXPIRED = "expired"  # derived from UTC time, never stored
    CANCELLED = "cancelled"
    DEBRIEFED = "debriefed"
    REVIEWED = "reviewed"


class Action(StrEnum):
    PROPOSE = "propose"
    SUBMIT = "submit"
    ASSESS = "assess"
    CONSULT = "consult"
    AUTHORISE = "authorise"
    REFUSE = "refuse"
    EXTEND = "extend"
    CANCEL = "cancel"
    DEBRIEF = "debrief"
    REVIEW = "review"


class Refused(PermissionDenied):
    """A transition refused by a named rule; the attempt is in the audit log.

    ``rule`` is a short stable name (e.g. ``separation-of-duties``, ``cooldown``), ``reason``
    says why in words.
    """

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(f"refused ({rule}): {reason}")
        self.rule = rule
        self.reason = reason


class InvalidTransition(ConflictError):
    """The action is not possible from the proposal's current state (it moved on, or too early)."""

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(f"conflict ({rule}): {reason}")
        self.rule = rule
        self.reason = reason


class StaleProposal(InvalidTransition):
    """The proposal changed since the caller read it (``expected_version`` no longer current)."""
