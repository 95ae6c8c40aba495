"""Intelligence items in the database: role checks, personal-data refusal, audited purge."""

from __future__ import annotations

from datetime import timedelta

import pytest

from patrolcast.errors import InputError, PermissionDenied
from patrolcast.governance import audit
from patrolcast.governance.clock import FixedClock
from patrolcast.governance.db import Database
from patrolcast.oversight.intel_store import get_item, list_items, record_item
from patrolcast.oversight.intelligence import Place
from patrolcast.oversight.pii import PersonalDataRefused


def _record(db: Database, clock: FixedClock, *, actor: str = "ian", summary: str = "Fights likely",
            retain_days: float = 30, grading: str = "2B P") -> int:
    now = clock.now()
    with db.session() as s:
        return record_item(
            s, actor=actor, clock=clock, place=Place(x=530250.0, y=180250.0, radius_m=200.0),
            start=now, end=now + timedelta(days=2), grading=grading,
            owner="Borough intelligence unit", retain_until=now + timedelta(days=retain_days),
            summary=summary,
        )


def _entries(db: Database) -> list[audit.AuditRecord]:
    with db.session() as s:
        return audit.read_entries(s)


def test_record_read_and_audit(gov: tuple[Database, FixedClock]) -> None:
    db, clock = gov
    item_id = _record(db, clock)
    with db.session() as s:
        item = get_item(s, actor="ana", clock=clock, item_id=item_id)
    assert str(item.grading) == "2B P" and item.place.radius_m == 200.0
    actions = [(e.action, e.outcome) for e in _entries(db)]
    assert ("intel_record", "done") in actions and ("intel_read", "read") in actions
    with db.session() as s:
        assert len(list_items(s, actor="aud", clock=clock, active_at=clock.now())) == 1
        assert list_items(s, actor="aud", clock=clock,
                          active_at=clock.now() + timedelta(days=3)) == []
    with db.session() as s:
        assert audit.verify(s).ok


def test_wrong_roles_are_refused_and_audited(gov: tuple[Database, FixedClock]) -> None:
    db, clock = gov
    with pytest.raises(PermissionDenied, match="role"):
        _record(db, clock, actor="ana")  # an analyst may read, not record
    with pytest.raises(PermissionDenied, match="role"):
        _record(db, clock, actor="aud")  # the auditor never writes
    item_id = _record(db, clock)
    with db.session() as s, pytest.raises(PermissionDenied):
        get_item(s, actor="cat", clock=clock, item_id=item_id)  # community lead: no intel
    with db.session() as s, pytest.raises(PermissionDenied, match="unknown-user"):
        list_items(s, actor="mallory", clock=clock)
    denied = [e for e in _entries(db) if e.outcome == "denied"]
    assert len(denied) == 4


def test_personal_data_refused_and_audited_without_the_text(
    gov: tuple[Database, FixedClock],
) -> None:
    db, clock = gov
    with pytest.raises(PersonalDataRefused):
        _record(db, clock, summary="Mr Smith in a silver car AB12 CDE")
    last = _entries(db)[-1]
    assert (last.action, last.outcome) == ("intel_record", "denied")
    assert "Smith" not in last.detail and "AB12" not in last.detail
    assert "vehicle registration" in last.detail_dict["kinds"]


def test_expired_items_are_purged_automatically_and_audited(
    gov: tuple[Database, FixedClock],
) -> None:
    db, clock = gov
    short = _record(db, clock, retain_days=5)
    long = _record(db, clock, retain_days=60)
    clock.advance(timedelta(days=5))  # exactly at retention: gone
    with db.session() as s:
        items = list_items(s, actor="ana", clock=clock)
    assert [i.item_id for i in items] == [str(long)]
    purges = [e for e in _entries(db) if e.action == "intel_purge"]
    assert [e.target_id for e in purges] == [str(short)]
    assert purges[0].actor == "system" and "2B P" in purges[0].detail
    with db.session() as s, pytest.raises(InputError, match="purged"):
        get_item(s, actor="ana", clock=clock, item_id=short)
    with db.session() as s:
        list_items(s, actor="ana", clock=clock)
    assert len([e for e in _entries(db) if e.action == "intel_purge"]) == 1  # purged once
    with db.session() as s:
        assert audit.verify(s).ok
