"""Generated test: roles x states x actions x (own or other's proposal) x borough scope.

The expected outcome comes from an oracle written here independently of the implementation's
tables: an action is allowed only from its source states, by its roles, never on one's own
proposal where separation of duties applies (only on one's own for ``submit``), and a
consultation only for a borough the commander commands. Every disallowed combination must be
refused *and* leave exactly one ``denied`` audit entry; every allowed one must succeed with
exactly one ``done`` entry. The auditor never writes.
"""

from __future__ import annotations

import itertools
import random
import sqlite3
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from patrolcast.errors import PatrolcastError, PermissionDenied
from patrolcast.governance import audit, service
from patrolcast.governance.clock import FixedClock
from patrolcast.governance.db import open_database
from patrolcast.governance.lifecycle import transition
from patrolcast.governance.models import AuditEntry, Person, Proposal
from patrolcast.governance.roles import Rank, Role, RoleSpec, add_person, find_actor
from patrolcast.governance.states import Action, State
from patrolcast.governance.values import (
    CancellationDetails,
    ConsultationDetails,
    DebriefDetails,
    ExtensionDetails,
    RefusalDetails,
    ReviewDetails,
)
from tests.governance.helpers import T0, World, authorisation, details, make_world, ndm

A, S, R = Action, State, Role

# --- the oracle ---------------------------------------------------------------------------
SOURCE_STATES = {
    A.SUBMIT: {S.DRAFT},
    A.ASSESS: {S.SUBMITTED},
    A.CONSULT: {S.ASSESSED},
    A.AUTHORISE: {S.CONSULTED},
    A.REFUSE: {S.CONSULTED},
    A.EXTEND: {S.AUTHORISED, S.ACTIVE},
    A.CANCEL: {S.AUTHORISED, S.ACTIVE},
    A.DEBRIEF: {S.EXPIRED, S.CANCELLED},
    A.REVIEW: {S.DEBRIEFED},
}
MAY_ACT = {
    A.SUBMIT: {R.ANALYST, R.INTELLIGENCE_OFFICER},
    A.ASSESS: {R.COMMUNITY_LEAD},
    A.CONSULT: {R.BOROUGH_COMMANDER},
    A.AUTHORISE: {R.AUTHORISING_OFFICER},
    A.REFUSE: {R.AUTHORISING_OFFICER},
    A.EXTEND: {R.AUTHORISING_OFFICER},
    A.CANCEL: {
        R.AUTHORISING_OFFICER,
        R.STRATEGIC_FIREARMS_COMMANDER,
        R.TACTICAL_FIREARMS_COMMANDER,
    },
    A.DEBRIEF: {R.TACTICAL_FIREARMS_COMMANDER, R.AUTHORISING_OFFICER},
    A.REVIEW: {R.AUTHORISING_OFFICER, R.STRATEGIC_FIREARMS_COMMANDER},
}
ONLY_OWN = {A.SUBMIT}
NEVER_OWN = {A.ASSESS, A.CONSULT, A.AUTHORISE, A.REFUSE, A.EXTEND, A.REVIEW}
WRITE_ACTIONS = [a for a in Action if a is not A.PROPOSE]
STATES = [s for s in State if s is not S.NEW]
SCOPES = ("in", "out")
RANKS = {
    R.AUTHORISING_OFFICER: Rank.ASSISTANT_CHIEF_CONSTABLE,
    R.TACTICAL_FIREARMS_COMMANDER: Rank.INSPECTOR,
    R.STRATEGIC_FIREARMS_COMMANDER: Rank.CHIEF_SUPERINTENDENT,
    R.BOROUGH_COMMANDER: Rank.CHIEF_SUPERINTENDENT,
}


def expected_allowed(role: Role, state: State, action: Action, own: bool, scope: str) -> bool:
    if state not in SOURCE_STATES[action] or role not in MAY_ACT[action]:
        return False
    if action in ONLY_OWN and not own:
        return False
    if action in NEVER_OWN and own:
        return False
    return not (action is A.CONSULT and scope == "out")


# --- the world: one proposal per state, one actor per (role, scope) --------------------------
@dataclass
class Matrix:
    world: World
    template: Path
    proposals: dict[State, int]
    actor_ids: dict[str, int]


def actor_name(role: Role, scope: str) -> str:
    return f"{role.value}-{scope}"


def build(tmp: Path) -> Matrix:
    url = f"sqlite:///{tmp / 'matrix.db'}"
    clock = FixedClock(T0)
    world = make_world(url, clock)
    world.db.dispose()
    world.db = open_database(url, create=False, sqlite_synchronous="OFF")
    with world.session() as s:
        for role, scope in itertools.product(Role, SCOPES):
            borough = "E09000001" if scope == "in" else "E09000099"
            spec = RoleSpec(role, borough if role is R.BOROUGH_COMMANDER else None)
            add_person(
                s,
                actor="admin",
                username=actor_name(role, scope),
                roles=[spec],
                rank=RANKS.get(role),
                clock=clock,
            )
    proposals: dict[State, int] = {}
    # At test time (T0 + 2 h): active = authorised T0..T0+8h, expired = T0..T0+1h,
    # authorised = starts T0+7h. Distinct areas so no cool-down or cap interferes.
    plans = {
        S.DRAFT: (S.DRAFT, {}),
        S.SUBMITTED: (S.SUBMITTED, {}),
        S.ASSESSED: (S.ASSESSED, {}),
        S.CONSULTED: (S.CONSULTED, {}),
        S.REFUSED: (S.REFUSED, {}),
        S.AUTHORISED: (S.AUTHORISED, {"hours": 1.0, "start_in": 7.0}),
        S.ACTIVE: (S.ACTIVE, {"hours": 8.0}),
        S.EXPIRED: (S.ACTIVE, {"hours": 1.0}),
        S.CANCELLED: (S.CANCELLED, {}),
        S.DEBRIEFED: (S.DEBRIEFED, {}),
        S.REVIEWED: (S.REVIEWED, {}),
    }
    from tests.governance.helpers import walk_to

    for k, (state, (walk_state, kw)) in enumerate(plans.items()):
        proposals[state] = walk_to(world, walk_state, offset=5000.0 * (k + 1), **kw)
    with world.session() as s:
        # the submitted proposal has its completed assessment attached, ready for 'assess'
        service.record_assessment(
            s, actor="cat", clock=clock, proposal_id=proposals[S.SUBMITTED], payload={"ok": True}
        )
        ids = {p.username: p.id for p in s.execute(select(Person)).scalars()}
    clock.current = T0 + timedelta(hours=2)
    with world.session() as s:
        for state, pid in proposals.items():
            view = service.read_proposal(s, actor="aud", clock=clock, proposal_id=pid)
            assert view.state is state, (state, view.state)
    world.db.dispose()
    template = tmp / "template.db"
    copy_db(tmp / "matrix.db", template)
    world.db = open_database(url, create=False, sqlite_synchronous="OFF")
    return Matrix(world=world, template=template, proposals=proposals, actor_ids=ids)


def copy_db(src: Path, dst: Path) -> None:
    """Copy a SQLite database consistently (the backup API includes the WAL)."""
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    a.close()
    b.close()


def action_details(world: World, action: Action, view_end: object) -> object:
    now = world.clock.now()
    if action is A.CONSULT:
        return ConsultationDetails("E09000001", "support", "Supported.")
    if action is A.AUTHORISE:
        return authorisation(world, hours=4)
    if action is A.REFUSE:
        return RefusalDetails("Not proportionate.")
    if action is A.EXTEND:
        base = view_end if view_end is not None else now
        return ExtensionDetails(base + timedelta(hours=2), "Further incident.", ndm())  # type: ignore[operator]
    if action is A.CANCEL:
        return CancellationDetails("Grounds lapsed.")
    if action is A.DEBRIEF:
        return DebriefDetails("Quiet.", "Signed.")
    if action is A.REVIEW:
        return ReviewDetails("Proportionate.")
    del now
    return None


def set_proposer(session: object, pid: int, person_id: int) -> None:
    session.execute(  # type: ignore[attr-defined]
        text("UPDATE proposals SET proposer_id = :p WHERE id = :i"), {"p": person_id, "i": pid}
    )
    session.commit()  # type: ignore[attr-defined]


def attempt(
    m: Matrix, session: object, role: Role, scope: str, state: State, action: Action, own: bool
) -> tuple[bool, str]:
    """Run one combination; return (succeeded, outcome of the new audit entry)."""
    pid = m.proposals[state]
    end = session.get(Proposal, pid).authorised_end  # type: ignore[attr-defined]
    before = session.execute(select(func.max(AuditEntry.seq))).scalar_one()  # type: ignore[attr-defined]
    ok = True
    try:
        transition(
            session,
            action=action,
            actor=actor_name(role, scope),  # type: ignore[arg-type]
            clock=m.world.clock,
            proposal_id=pid,
            details=action_details(m.world, action, end),
        )
    except PatrolcastError:
        ok = False
    rows = (
        session.execute(  # type: ignore[attr-defined]
            select(AuditEntry).where(AuditEntry.seq > before).order_by(AuditEntry.seq)
        )
        .scalars()
        .all()
    )
    assert len(rows) == 1, f"{role}/{scope}/{state}/{action}/own={own}: {len(rows)} entries"
    return ok, rows[0].outcome


def combos() -> list[tuple[Role, str, State, Action, bool]]:
    return list(itertools.product(Role, SCOPES, STATES, WRITE_ACTIONS, (False, True)))


def run_matrix(
    m: Matrix, chosen: list[tuple[Role, str, State, Action, bool]], tmp: Path
) -> dict[str, int]:
    counts = {"combinations": 0, "allowed": 0, "denied": 0}
    denied = [c for c in chosen if not expected_allowed(c[0], c[2], c[3], c[4], c[1])]
    allowed = [c for c in chosen if expected_allowed(c[0], c[2], c[3], c[4], c[1])]
    with m.world.session() as s:
        denied.sort(key=lambda c: (c[2], c[0], c[1], c[4]))
        current: tuple[State, Role, str, bool] | None = None
        for role, scope, state, action, own in denied:
            key = (state, role, scope, own)
            if key != current:
                owner = m.actor_ids[actor_name(role, scope)] if own else m.actor_ids["ana"]
                set_proposer(s, m.proposals[state], owner)
                current = key
            version = s.get(Proposal, m.proposals[state]).version
            ok, outcome = attempt(m, s, role, scope, state, action, own)
            assert not ok and outcome == "denied", (role, scope, state, action, own)
            s.expire_all()
            assert s.get(Proposal, m.proposals[state]).version == version
            counts["denied"] += 1
        set_proposer(s, m.proposals[current[0]], m.actor_ids["ana"]) if current else None
        # the chain is intact; the tables are not (proposers were reassigned directly above)
        assert audit.verify(s, rows=False).ok
    for i, (role, scope, state, action, own) in enumerate(allowed):
        path = tmp / f"allowed{i}.db"
        copy_db(m.template, path)
        db = open_database(f"sqlite:///{path}", create=False, sqlite_synchronous="OFF")
        with db.session() as s:
            owner = m.actor_ids[actor_name(role, scope)] if own else m.actor_ids["ana"]
            set_proposer(s, m.proposals[state], owner)
            ok, outcome = attempt(
                Matrix(m.world, m.template, m.proposals, m.actor_ids),
                s,
                role,
                scope,
                state,
                action,
                own,
            )
            assert ok and outcome == "done", (role, scope, state, action, own)
        db.dispose()
        path.unlink()
        counts["allowed"] += 1
    counts["combinations"] = counts["allowed"] + counts["denied"]
    return counts


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Matrix:
    return build(tmp_path_factory.mktemp("matrix"))


def broken_rules(role: Role, scope: str, state: State, action: Action, own: bool) -> frozenset[str]:
    """The oracle's rules a combination breaks (empty: allowed)."""
    broken = set()
    if state not in SOURCE_STATES[action]:
        broken.add("source-state")
    if role not in MAY_ACT[action]:
        broken.add("role")
    if action in ONLY_OWN and not own:
        broken.add("only-own")
    if action in NEVER_OWN and own:
        broken.add("never-own")
    if action is A.CONSULT and scope == "out":
        broken.add("borough-scope")
    return frozenset(broken)


def test_every_combination_allowed_or_refused_and_audited(matrix: Matrix, tmp_path: Path) -> None:
    """All 9 roles x 2 scopes x 11 states x 9 actions x own/other (3,564 combinations: 59
    allowed, 3,505 denied), in the default run: about 30 s of CPU on one core (a database
    copy per allowed combination, about 7 ms per denied one). It used to be in the slow set,
    with the default run checking a seeded sample of 500 denied combinations (19%)."""
    counts = run_matrix(matrix, combos(), tmp_path)
    assert counts == {"combinations": 3564, "allowed": 59, "denied": 3505}


def test_the_matrix_breaks_each_rule_alone() -> None:
    """Why the whole matrix: 588 denied combinations break exactly one rule, and only those
    fail when that rule's check is dropped. Every (action, rule) pair the oracle knows has such
    a combination, and the oracle agrees with ``expected_allowed``."""
    every = combos()
    for c in every:
        assert expected_allowed(c[0], c[2], c[3], c[4], c[1]) == (not broken_rules(*c))
    alone = [c for c in every if len(broken_rules(*c)) == 1]
    assert len(alone) == 588
    pairs = {(c[3], r) for c in alone for r in broken_rules(*c)}
    roles = {(c[3], c[0]) for c in alone if broken_rules(*c) == {"role"}}
    states = {(c[3], c[2]) for c in alone if broken_rules(*c) == {"source-state"}}
    assert {r for _, r in pairs} == {
        "source-state", "role", "only-own", "never-own", "borough-scope"
    }
    assert roles == {(a, r) for a in WRITE_ACTIONS for r in Role if r not in MAY_ACT[a]}
    assert states == {(a, s) for a in WRITE_ACTIONS for s in STATES if s not in SOURCE_STATES[a]}


def test_propose_only_by_analysts_and_intelligence_officers(matrix: Matrix) -> None:
    with matrix.world.session() as s:
        for role, scope in itertools.product(Role, SCOPES):
            before = s.execute(select(func.count(AuditEntry.seq))).scalar_one()
            d = details(matrix.world, offset=-50_000.0)
            try:
                transition(
                    s,
                    action=A.PROPOSE,
                    actor=actor_name(role, scope),
                    clock=matrix.world.clock,
                    details=d,
                )
                ok = True
            except PatrolcastError:
                ok = False
            after = s.execute(select(func.count(AuditEntry.seq))).scalar_one()
            assert after == before + 1
            assert ok == (role in {R.ANALYST, R.INTELLIGENCE_OFFICER}), role


def test_nobody_authorises_own_proposal_even_with_both_roles(tmp_path: Path) -> None:
    world = make_world(f"sqlite:///{tmp_path / 'own.db'}")
    from tests.governance.helpers import walk_to

    with world.session() as s:
        add_person(
            s,
            actor="admin",
            username="ana",
            clock=world.clock,
            roles=[RoleSpec(R.AUTHORISING_OFFICER)],
            rank=Rank.CHIEF_CONSTABLE,
        )
    pid = walk_to(world, S.CONSULTED, proposer="ana")
    with world.session() as s:
        with pytest.raises(PatrolcastError, match="separation-of-duties"):
            service.authorise(
                s, actor="ana", clock=world.clock, proposal_id=pid, details=authorisation(world)
            )
        last = audit.read_entries(s)[-1]
        assert (last.actor, last.outcome, last.detail_dict["rule"]) == (
            "ana",
            "denied",
            "separation-of-duties",
        )


def test_auditor_reads_are_audited_and_never_write(matrix: Matrix) -> None:
    with matrix.world.session() as s:
        entries = audit.read_entries(s)
        by_auditor = [
            e for e in entries if e.actor.startswith("oversight_auditor") or e.actor == "aud"
        ]
        assert by_auditor and all(e.outcome in ("read", "denied") for e in by_auditor)


def test_random_sample_matches_oracle(matrix: Matrix, tmp_path: Path) -> None:
    """A second pass in random order (so no ordering effect hides a bug)."""
    chosen = random.Random(7).sample(combos(), 200)
    counts = run_matrix(matrix, chosen, tmp_path)
    assert counts["combinations"] == 200


def test_an_administrator_or_auditor_never_holds_another_role(tmp_path: Path) -> None:
    """An administrator cannot grant themselves an operational role and rank (nor can the
    administrator role be added to, or created with, any other role); each attempt is audited."""
    world = make_world(f"sqlite:///{tmp_path / 'admin.db'}")
    attempts = (
        ("admin", [RoleSpec(R.AUTHORISING_OFFICER)], Rank.CHIEF_CONSTABLE),
        ("ana", [RoleSpec(R.ADMINISTRATOR)], None),
        ("mix", [RoleSpec(R.ADMINISTRATOR), RoleSpec(R.ANALYST)], None),
        ("aud", [RoleSpec(R.ANALYST)], None),  # the auditor stays read-only
        ("acc1", [RoleSpec(R.OVERSIGHT_AUDITOR)], None),
    )
    for username, roles, rank in attempts:
        with world.session() as s:
            with pytest.raises(PermissionDenied, match="cannot also hold another role"):
                add_person(
                    s, actor="admin", username=username, roles=roles, rank=rank, clock=world.clock
                )
            last = audit.read_entries(s)[-1]
            assert (last.action, last.outcome, last.target_id) == ("user_add", "denied", username)
    with world.session() as s:
        admin = find_actor(s, "admin")
        assert admin is not None and admin.roles == {R.ADMINISTRATOR} and admin.rank is None
        assert find_actor(s, "mix") is None


def test_only_analysts_and_intelligence_officers_record_snapshots(world: World) -> None:
    """The auditor never writes; an administrator does not act operationally; unknown users are
    refused; each refusal is audited."""
    from patrolcast.governance.snapshots import record_snapshot

    def record(actor: str) -> int:
        with world.session() as s:
            return record_snapshot(
                s, method="kde", params={}, created_at=world.clock.now(), digest="cd" * 32,
                actor=actor, clock=world.clock,
            ).id

    for actor in ("aud", "admin", "mallory"):
        with pytest.raises(PermissionDenied, match="may not record a snapshot"):
            record(actor)
        with world.session() as s:
            last = audit.read_entries(s)[-1]
        assert (last.actor, last.action, last.outcome) == (actor, "snapshot_record", "denied")
    assert record("ana") > world.snapshot_id


def test_audit_export_is_for_the_auditor_and_administrator_only(world: World) -> None:
    for actor in ("ana", "acc1", "mallory"):
        with world.session() as s, pytest.raises(PermissionDenied, match="exporting the audit"):
            service.export_audit(s, actor=actor, clock=world.clock)
        with world.session() as s:
            last = audit.read_entries(s)[-1]
        assert (last.actor, last.action, last.outcome) == (actor, "audit_export", "denied")
    with world.session() as s:
        entries, cp = service.export_audit(s, actor="aud", clock=world.clock)
        last = audit.read_entries(s)[-1]
    assert entries and cp.seq == entries[-1]["seq"]
    assert (last.actor, last.action, last.outcome) == ("aud", "audit_export", "read")
