"""Test helpers: a populated governance world and a function to walk a proposal to a state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from patrolcast.governance import service
from patrolcast.governance.clock import FixedClock
from patrolcast.governance.db import Database, open_database
from patrolcast.governance.roles import Rank, Role, RoleSpec, add_person
from patrolcast.governance.snapshots import record_snapshot
from patrolcast.governance.states import State
from patrolcast.governance.values import (
    Area,
    AuthorisationDetails,
    CancellationDetails,
    ConsultationDetails,
    DebriefDetails,
    NDMRationale,
    ProposalDetails,
    Trigger,
)

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
BOROUGHS = ("E09000001", "E09000002")


def ndm() -> NDMRationale:
    return NDMRationale(
        code_of_ethics="Proportionate, lawful, fair; least intrusive option considered.",
        information_and_intelligence="Two stabbings within 300 m in 12 h; graded intelligence.",
        threat_risk_and_strategy="High risk of further serious violence tonight.",
        powers_and_policy="Armed foot patrol profile; APP armed policing.",
        options_and_contingencies="Unarmed patrol; no action; armed foot patrol for 6 h.",
        action_and_review="Patrol 18:00-24:00, review at 21:00, debrief next day.",
    )


def area(offset: float = 0.0, size: float = 500.0, boroughs: tuple[str, ...] = BOROUGHS) -> Area:
    x0, y0 = 530000.0 + offset, 180000.0
    return Area.from_bbox(x0, y0, x0 + size, y0 + size, boroughs)


@dataclass
class World:
    db: Database
    clock: FixedClock
    snapshot_id: int

    def session(self) -> Session:
        return self.db.session()


PEOPLE: dict[str, tuple[tuple[RoleSpec, ...], Rank | None]] = {
    "admin": ((RoleSpec(Role.ADMINISTRATOR),), None),
    "ana": ((RoleSpec(Role.ANALYST),), None),
    "ian": ((RoleSpec(Role.INTELLIGENCE_OFFICER),), None),
    "cat": ((RoleSpec(Role.COMMUNITY_LEAD),), None),
    "bob1": ((RoleSpec(Role.BOROUGH_COMMANDER, "E09000001"),), Rank.CHIEF_SUPERINTENDENT),
    "bob2": ((RoleSpec(Role.BOROUGH_COMMANDER, "E09000002"),), Rank.CHIEF_SUPERINTENDENT),
    "acc1": ((RoleSpec(Role.AUTHORISING_OFFICER),), Rank.ASSISTANT_CHIEF_CONSTABLE),
    "acc2": ((RoleSpec(Role.AUTHORISING_OFFICER),), Rank.ASSISTANT_CHIEF_CONSTABLE),
    "insp": ((RoleSpec(Role.AUTHORISING_OFFICER),), Rank.INSPECTOR),
    "tfc": ((RoleSpec(Role.TACTICAL_FIREARMS_COMMANDER),), Rank.INSPECTOR),
    "sfc": ((RoleSpec(Role.STRATEGIC_FIREARMS_COMMANDER),), Rank.CHIEF_SUPERINTENDENT),
    # a second strategic commander, for reviews independent of the commanders named
    "sfc2": ((RoleSpec(Role.STRATEGIC_FIREARMS_COMMANDER),), Rank.CHIEF_SUPERINTENDENT),
    "aud": ((RoleSpec(Role.OVERSIGHT_AUDITOR),), None),
}


def make_world(url: str, clock: FixedClock | None = None) -> World:
    db = open_database(url)
    clock = clock or FixedClock(T0)
    with db.session() as s:
        for name, (roles, rank) in PEOPLE.items():
            add_person(s, actor="admin", username=name, roles=roles, rank=rank, clock=clock)
        snap = record_snapshot(
            s,
            method="kde",
            params={"bandwidth": 200},
            created_at=clock.now() - timedelta(hours=1),
            digest="ab" * 32,
            uri="file:///tmp/x.parquet",
            clock=clock,
        )
    return World(db=db, clock=clock, snapshot_id=snap.id)


def sqlite_url(tmp_path: Path, name: str = "gov.db") -> str:
    return f"sqlite:///{tmp_path / name}"


def details(
    world: World,
    *,
    offset: float = 0.0,
    hours: float = 6.0,
    boroughs: tuple[str, ...] = BOROUGHS,
    profile: str = "armed-foot-patrol",
    start_in: float = 0.0,
) -> ProposalDetails:
    """A proposal requesting ``hours`` from ``start_in`` hours from now (an authorisation
    must lie inside the requested window)."""
    now = world.clock.now()
    start = now + timedelta(hours=start_in)
    return ProposalDetails(
        trigger=Trigger(
            kind="incident",
            offence="serious_assault",
            occurred_at=now - timedelta(hours=2),
            place="Example Road",
        ),
        area=area(offset, boroughs=boroughs),
        start=start,
        end=start + timedelta(hours=hours),
        ndm=ndm(),
        snapshot_id=world.snapshot_id,
        profile=profile,
    )


def authorisation(world: World, hours: float = 6.0, start_in: float = 0.0) -> AuthorisationDetails:
    start = world.clock.now() + timedelta(hours=start_in)
    return AuthorisationDetails(
        start=start,
        end=start + timedelta(hours=hours),
        reasons="Grounds met; proportionate.",
        ndm=ndm(),
        tactical_commander="tfc",
        strategic_commander="sfc",
        public_notice="Notice: armed patrols in the area tonight.",
    )


def walk_to(
    world: World,
    target: State,
    *,
    proposer: str = "ana",
    offset: float = 0.0,
    hours: float = 6.0,
    start_in: float = 0.0,
    profile: str = "armed-foot-patrol",
    authoriser: str = "acc1",
) -> int:
    """Create a proposal and drive it to ``target`` (effective state at the clock's time)."""
    c = world.clock
    start_later = start_in if start_in else (1.0 if target is State.AUTHORISED else 0.0)
    with world.session() as s:
        pid = service.propose(
            s,
            actor=proposer,
            clock=c,
            details=details(
                world, offset=offset, profile=profile, hours=hours, start_in=start_later
            ),
        ).proposal_id
        if target is State.DRAFT:
            return pid
        service.submit(s, actor=proposer, clock=c, proposal_id=pid)
        if target is State.SUBMITTED:
            return pid
        service.record_assessment(
            s, actor="cat", clock=c, proposal_id=pid, payload={"summary": "tension low"}
        )
        service.assess(s, actor="cat", clock=c, proposal_id=pid)
        if target is State.ASSESSED:
            return pid
        for who, b in (("bob1", "E09000001"), ("bob2", "E09000002")):
            service.consult(
                s,
                actor=who,
                clock=c,
                proposal_id=pid,
                details=ConsultationDetails(b, "support", "Agreed; notify IAG."),
            )
        if target is State.CONSULTED:
            return pid
        if target is State.REFUSED:
            from patrolcast.governance.values import RefusalDetails

            service.refuse(
                s,
                actor="acc1",
                clock=c,
                proposal_id=pid,
                details=RefusalDetails("Intelligence not corroborated."),
            )
            return pid
        service.authorise(
            s,
            actor=authoriser,
            clock=c,
            proposal_id=pid,
            details=authorisation(world, hours=hours, start_in=start_later),
        )
        if target in (State.AUTHORISED, State.ACTIVE):
            return pid
        if target in (State.CANCELLED, State.DEBRIEFED, State.REVIEWED):
            service.cancel(
                s,
                actor="acc1",
                clock=c,
                proposal_id=pid,
                details=CancellationDetails("Suspect arrested; grounds lapsed."),
            )
        else:
            raise ValueError(f"walk_to cannot reach {target} without moving the clock")
        if target is State.CANCELLED:
            return pid
        service.debrief(
            s,
            actor="tfc",
            clock=c,
            proposal_id=pid,
            details=DebriefDetails("No incidents; 3 h of patrol.", "Signed: tfc"),
        )
        if target is State.DEBRIEFED:
            return pid
        from patrolcast.governance.values import ReviewDetails

        # the reviewer is independent of everyone who decided (acc1 authorised and
        # cancelled, tfc and sfc were the named commanders, tfc debriefed)
        service.review(
            s,
            actor="acc2",
            clock=c,
            proposal_id=pid,
            details=ReviewDetails("Proportionate; debrief complete."),
        )
        return pid
