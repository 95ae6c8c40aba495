"""A small governance database with the people the oversight tests need."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from patrolcast.governance.clock import FixedClock
from patrolcast.governance.db import Database, open_database
from patrolcast.governance.roles import Rank, Role, RoleSpec, add_person

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

PEOPLE: dict[str, tuple[tuple[RoleSpec, ...], Rank | None]] = {
    "admin": ((RoleSpec(Role.ADMINISTRATOR),), None),
    "ian": ((RoleSpec(Role.INTELLIGENCE_OFFICER),), None),
    "ana": ((RoleSpec(Role.ANALYST),), None),
    "cat": ((RoleSpec(Role.COMMUNITY_LEAD),), None),
    "aud": ((RoleSpec(Role.OVERSIGHT_AUDITOR),), None),
}


@pytest.fixture()
def gov(tmp_path: Path) -> Iterator[tuple[Database, FixedClock]]:
    db = open_database(f"sqlite:///{tmp_path / 'gov.db'}")
    clock = FixedClock(T0)
    with db.session() as s:
        for name, (roles, rank) in PEOPLE.items():
            add_person(s, actor="admin", username=name, roles=roles, rank=rank, clock=clock)
    yield db, clock
    db.dispose()
