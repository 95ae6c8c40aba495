"""Hypothesis state machine: random action sequences against a controlled clock.

Invariants checked after every step: no proposal is active at or after its end (whether or not
anything ran at that instant); the authorised span never exceeds the profile's maximum total
(nor its initial maximum before an extension); extensions never exceed the profile's count;
every attempted transition adds exactly one audit entry (``done`` if it succeeded, ``denied``
otherwise); and the chain verifies.
"""

from __future__ import annotations

import contextlib
import sqlite3
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from sqlalchemy import func, select

from patrolcast.errors import PatrolcastError
from patrolcast.governance import audit, service
from patrolcast.governance.clock import FixedClock, elapsed_hours
from patrolcast.governance.db import open_database
from patrolcast.governance.lifecycle import transition
from patrolcast.governance.models import AuditEntry, Proposal
from patrolcast.governance.profiles import load_profile
from patrolcast.governance.states import Action, State
from patrolcast.governance.values import (
    AuthorisationDetails,
    CancellationDetails,
    ConsultationDetails,
    DebriefDetails,
    ExtensionDetails,
    RefusalDetails,
    ReviewDetails,
)
from tests.governance.helpers import T0, World, details, make_world, ndm, sqlite_url

_TEMPLATE: Path | None = None


def template() -> Path:
    """A migrated database with people and a snapshot, built once per test session."""
    global _TEMPLATE
    if _TEMPLATE is None:
        tmp = Path(tempfile.mkdtemp(prefix="gov-sm-"))
        world = make_world(sqlite_url(tmp, "template.db"), FixedClock(T0))
        world.db.dispose()
        _TEMPLATE = tmp / "template.db"
    return _TEMPLATE


PROFILES = ("armed-foot-patrol", "busss-strict", "s60-statutory")


class Lifecycle(RuleBasedStateMachine):
    proposals = Bundle("proposals")

    @initialize()
    def setup(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="gov-sm-run-"))
        path = self.tmp / "run.db"
        with sqlite3.connect(template()) as a, sqlite3.connect(path) as b:
            a.backup(b)
        self.clock = FixedClock(T0)
        db = open_database(f"sqlite:///{path}", create=False, sqlite_synchronous="OFF")
        self.world = World(db=db, clock=self.clock, snapshot_id=1)
        self.session = db.session()
        self.attempts = 0
        self.successes = 0

    def teardown(self) -> None:
        if hasattr(self, "session"):
            report = audit.verify(self.session)
            assert report.ok, report.problems
            done = self.session.execute(
                select(func.count(AuditEntry.seq)).where(
                    AuditEntry.outcome == "done",
                    AuditEntry.action.in_([a.value for a in Action]),
                )
            ).scalar_one()
            assert done == self.successes
            self.session.close()
            self.world.db.dispose()

    # --- helpers ----------------------------------------------------------------------------
    def _audit_count(self) -> int:
        return self.session.execute(select(func.count(AuditEntry.seq))).scalar_one()

    def _try(self, action: Action, actor: str, pid: int | None, d: object) -> int | None:
        before = self._audit_count()
        self.attempts += 1
        try:
            result = transition(
                self.session,
                action=action,
                actor=actor,
                clock=self.clock,
                proposal_id=pid,
                details=d,
            )
            ok = True
        except PatrolcastError:
            result, ok = None, False
        entries = (
            self.session.execute(select(AuditEntry).where(AuditEntry.seq > before)).scalars().all()
        )
        assert len(entries) == 1, f"{action}: {len(entries)} audit entries"
        assert entries[0].outcome == ("done" if ok else "denied")
        if result is not None:
            self.successes += 1
            return result.proposal_id
        return None

    def _row(self, pid: int) -> Proposal:
        row = self.session.get(Proposal, pid, populate_existing=True)
        assert row is not None
        return row

    # --- rules ------------------------------------------------------------------------------
    @rule(
        target=proposals,
        slot=st.integers(0, 2),
        profile=st.sampled_from(PROFILES),
        hours=st.sampled_from([4.0, 8.0]),
    )
    def propose(self, slot: int, profile: str, hours: float) -> int:
        pid = self._try(
            Action.PROPOSE,
            "ana",
            None,
            details(self.world, offset=slot * 300.0, hours=hours, profile=profile),
        )
        assert pid is not None
        return pid

    @rule(pid=proposals)
    def submit(self, pid: int) -> None:
        self._try(Action.SUBMIT, "ana", pid, None)

    @rule(pid=proposals, attach=st.booleans())
    def assess(self, pid: int, attach: bool) -> None:
        if attach:
            with contextlib.suppress(PatrolcastError):
                service.record_assessment(
                    self.session,
                    actor="cat",
                    clock=self.clock,
                    proposal_id=pid,
                    payload={"ok": True},
                )
        self._try(Action.ASSESS, "cat", pid, None)

    @rule(
        pid=proposals,
        who=st.sampled_from([("bob1", "E09000001"), ("bob2", "E09000002"), ("bob1", "E09000002")]),
        position=st.sampled_from(["support", "object"]),
    )
    def consult(self, pid: int, who: tuple[str, str], position: str) -> None:
        self._try(Action.CONSULT, who[0], pid, ConsultationDetails(who[1], position, "Because."))

    @rule(
        pid=proposals,
        start_in=st.sampled_from([0.0, 1.0, 3.0]),
        hours=st.sampled_from([1.0, 4.0, 8.0, 15.0, 24.0, 30.0]),
        who=st.sampled_from(["acc1", "insp"]),
        answer=st.booleans(),
    )
    def authorise(self, pid: int, start_in: float, hours: float, who: str, answer: bool) -> None:
        start = self.clock.now() + timedelta(hours=start_in)
        d = AuthorisationDetails(
            start=start,
            end=start + timedelta(hours=hours),
            reasons="Grounds.",
            ndm=ndm(),
            tactical_commander="tfc",
            strategic_commander="sfc",
            public_notice="Notice.",
            objection_response="Objection answered: limited hours." if answer else None,
        )
        self._try(Action.AUTHORISE, who, pid, d)

    @rule(pid=proposals)
    def refuse(self, pid: int) -> None:
        self._try(Action.REFUSE, "acc2", pid, RefusalDetails("Not necessary."))

    @rule(
        pid=proposals,
        hours=st.sampled_from([1.0, 4.0, 9.0, 15.0, 24.0, 30.0]),
        who=st.sampled_from(["acc2", "insp"]),
    )
    def extend(self, pid: int, hours: float, who: str) -> None:
        row = self._row(pid)
        base = row.authorised_end or self.clock.now()
        self._try(
            Action.EXTEND,
            who,
            pid,
            ExtensionDetails(base + timedelta(hours=hours), "Further incident.", ndm()),
        )

    @rule(pid=proposals)
    def cancel(self, pid: int) -> None:
        self._try(Action.CANCEL, "tfc", pid, CancellationDetails("Grounds lapsed."))

    @rule(pid=proposals)
    def debrief(self, pid: int) -> None:
        self._try(Action.DEBRIEF, "tfc", pid, DebriefDetails("Summary.", "Signed."))

    @rule(pid=proposals)
    def review(self, pid: int) -> None:
        self._try(Action.REVIEW, "sfc", pid, ReviewDetails("Findings."))

    @rule(pid=proposals, steps=st.integers(1, 7))
    def progress(self, pid: int, steps: int) -> None:
        """Take up to ``steps`` natural next steps, so deep states are common."""
        for _ in range(steps):
            self._progress_once(pid)

    def _progress_once(self, pid: int) -> None:
        view = service.read_proposal(self.session, actor="aud", clock=self.clock, proposal_id=pid)
        event(f"progress from {view.state.value}")
        state = view.state
        if state is State.DRAFT:
            self.submit(pid)
        elif state is State.SUBMITTED:
            self.assess(pid, True)
        elif state is State.ASSESSED:
            done = {c["borough"] for c in view.consultations}
            who = ("bob1", "E09000001") if "E09000001" not in done else ("bob2", "E09000002")
            self.consult(pid, who, "support")
        elif state is State.CONSULTED:
            self.authorise(pid, 0.0, 4.0, "acc1", True)
        elif state in (State.AUTHORISED, State.ACTIVE):
            self.extend(pid, 4.0, "acc2")
        elif state in (State.EXPIRED, State.CANCELLED):
            self.debrief(pid)
        elif state is State.DEBRIEFED:
            self.review(pid)

    @precondition(lambda self: hasattr(self, "clock"))
    @rule(minutes=st.sampled_from([1, 10, 30, 60, 120, 240, 480, 720, 1500]))
    def tick(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))

    # --- invariants -------------------------------------------------------------------------
    @invariant()
    def nothing_active_after_expiry_and_durations_within_profile(self) -> None:
        if not hasattr(self, "session"):
            return
        now = self.clock.now()
        views = service.list_proposals(self.session, actor="aud", clock=self.clock)
        for v in views:
            profile = load_profile(v.profile)
            if v.state is State.ACTIVE:
                assert v.authorised_start is not None and v.authorised_end is not None
                assert v.authorised_start <= now < v.authorised_end
                assert v.cancelled_at is None
            if v.authorised_end is not None and now >= v.authorised_end:
                assert v.state is not State.ACTIVE
                assert v.state is not State.AUTHORISED
            if v.authorised_start is not None and v.authorised_end is not None:
                span = elapsed_hours(v.authorised_start, v.authorised_end)
                assert span <= profile.max_total_hours + 1e-9
                if v.extensions_used == 0:
                    assert span <= profile.max_hours + 1e-9
            assert v.extensions_used <= len(profile.extensions)
            if v.state in (State.DEBRIEFED, State.REVIEWED):
                assert v.authorised_start is not None


Lifecycle.TestCase.settings = settings(
    max_examples=12,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestLifecycle = Lifecycle.TestCase


class LongLifecycle(Lifecycle):
    pass


LongLifecycle.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestLongLifecycle = pytest.mark.slow(LongLifecycle.TestCase)
