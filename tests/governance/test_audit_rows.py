"""Row digests: each governed write is described by its audit entry; the tables are replayed.

Direct edits of the tables (the log untouched) are found by ``audit.verify``: an edited
``proposals.authorised_end`` (named as the field that differs from the transitions), a changed
authoriser in ``decisions``, an inserted role grant, a deleted consultation. Writing a governed
row without an audit entry is a programming error caught at commit.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text, update

from patrolcast.governance import audit
from patrolcast.governance.audit_rows import (
    DELETED,
    UNGOVERNED_TABLES,
    UnauditedWrite,
    current_digests,
    register_ungoverned,
)
from patrolcast.governance.clock import FixedClock
from patrolcast.governance.db import migrate, open_database
from patrolcast.governance.models import Consultation, Decision, ForecastSnapshot, Proposal
from patrolcast.governance.states import State
from patrolcast.oversight.intel_store import list_items, record_item
from patrolcast.oversight.intelligence import Place
from tests.governance.audit_attacks import TRIGGERS, signed_world
from tests.governance.helpers import World, walk_to


def _raw(world: World, sql: str, **params: object) -> None:
    """Run one statement as an insider would: outside the application, straight to the file."""
    engine = create_engine(str(world.db.engine.url))
    with engine.begin() as conn:
        for name in TRIGGERS:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        conn.execute(text(sql), params)
    engine.dispose()


def _problems(world: World) -> tuple[str, ...]:
    with world.session() as s:
        return audit.verify(s).problems


def test_every_governed_write_is_in_its_entry(world: World) -> None:
    pid = walk_to(world, State.ACTIVE)
    with world.session() as s:
        entries = audit.read_entries(s)
        authorise = next(e for e in entries if e.action == "authorise")
        rows = authorise.detail_dict["rows"]
        decision = s.execute(select(Decision).where(Decision.proposal_id == pid)).scalar_one()
        assert set(rows) == {f"proposals/{pid}", f"decisions/{decision.id}"}
        assert rows == {k: v for k, v in current_digests(s.connection()).items() if k in rows}
        denied_or_read = [e for e in entries if e.outcome in ("denied", "read")]
        assert all("rows" not in e.detail_dict for e in denied_or_read)
        report = audit.verify(s)
    assert report.ok and report.rows_checked > 20


def test_editing_the_authorised_end_is_named(world: World) -> None:
    pid = walk_to(world, State.ACTIVE)
    assert not _problems(world)
    _raw(world, "UPDATE proposals SET authorised_end = '2026-06-03 12:00:00.000000' WHERE id = :i",
         i=pid)
    problems = _problems(world)
    assert any(p.startswith(f"proposals/{pid}: the row differs") for p in problems)
    assert any(p.startswith(f"proposals/{pid}: authorised_end is") for p in problems), problems


def test_changing_the_authoriser_of_a_decision(world: World) -> None:
    pid = walk_to(world, State.ACTIVE)
    with world.session() as s:
        decision = s.execute(select(Decision).where(Decision.proposal_id == pid)).scalar_one()
        other = s.execute(text("SELECT id FROM people WHERE username = 'acc2'")).scalar_one()
    _raw(world, "UPDATE decisions SET decided_by_id = :o WHERE id = :i", o=other, i=decision.id)
    problems = _problems(world)
    assert f"decisions/{decision.id}" in " ".join(problems) and "edited outside" in problems[0]
    # and the proposal's authoriser, changed to match, is named against the transitions
    _raw(world, "UPDATE proposals SET authorised_by_id = :o WHERE id = :i", o=other, i=pid)
    assert any("authoriser is 'acc2'" in p and "give 'acc1'" in p for p in _problems(world))


def test_inserting_a_role_grant(world: World) -> None:
    with world.session() as s:
        ana = s.execute(text("SELECT id FROM people WHERE username = 'ana'")).scalar_one()
    _raw(world, "INSERT INTO role_grants (person_id, role, borough, granted_at, granted_by) "
         "VALUES (:p, 'authorising_officer', NULL, '2026-06-01 12:00:00.000000', 'admin')", p=ana)
    problems = _problems(world)
    assert len(problems) == 1
    assert problems[0].startswith("role_grants/") and "no audit entry describes" in problems[0]


def test_deleting_a_consultation(world: World) -> None:
    pid = walk_to(world, State.CONSULTED)
    with world.session() as s:
        cid = s.execute(
            select(Consultation.id).where(Consultation.proposal_id == pid)
        ).scalars().first()
    _raw(world, "DELETE FROM consultations WHERE id = :i", i=cid)
    problems = _problems(world)
    assert problems == (
        f"consultations/{cid}: missing, but the log (seq {_seq_of(world, f'consultations/{cid}')})"
        " says it exists (deleted outside the application)",
    )


def _seq_of(world: World, key: str) -> int:
    with world.session() as s:
        return max(e.seq for e in audit.read_entries(s) if key in e.detail_dict.get("rows", {}))


def test_a_row_restored_to_its_audited_content_verifies(world: World) -> None:
    pid = walk_to(world, State.SUBMITTED)
    _raw(world, "UPDATE proposals SET state = 'consulted' WHERE id = :i", i=pid)
    assert any("state is 'consulted'" in p for p in _problems(world))
    _raw(world, "UPDATE proposals SET state = 'submitted' WHERE id = :i", i=pid)
    assert _problems(world) == ()


def test_unaudited_governed_write_is_refused_at_commit(world: World) -> None:
    with world.session() as s:
        s.execute(update(Proposal).where(Proposal.id == -1).values(state="x"))  # no rows: fine
        s.commit()
        s.add(
            ForecastSnapshot(method="m", params={}, created_at=world.clock.now(), digest="ab" * 8,
                             uri="", recorded_at=world.clock.now())
        )
        with pytest.raises(UnauditedWrite, match="forecast_snapshots/"):
            s.commit()
        s.rollback()
        assert s.execute(select(ForecastSnapshot).where(ForecastSnapshot.method == "m")).first() \
            is None
    with world.session() as s:
        pid = walk_to(world, State.DRAFT)
        s.execute(update(Proposal).where(Proposal.id == pid).values(area_km2=9.0))
        with pytest.raises(UnauditedWrite, match=f"proposals/{pid}"):
            s.commit()
    assert _problems(world) == ()


def test_savepoints_are_refused_and_nothing_escapes_through_one(world: World) -> None:
    """A savepoint rolled back would forget the outer transaction's pending rows (or keep rows
    whose entry it rolled back): governed sessions refuse savepoints, and the outer write is
    still refused at commit."""
    pid = walk_to(world, State.DRAFT)
    with world.session() as s:
        s.execute(update(Proposal).where(Proposal.id == pid).values(area_km2=9.0))
        with pytest.raises(UnauditedWrite, match="savepoints"):
            s.begin_nested()
        with pytest.raises(UnauditedWrite, match=f"proposals/{pid}"):
            s.commit()
        s.rollback()
    assert _problems(world) == ()


def test_bulk_delete_is_described_by_the_next_entry(tmp_path: Path) -> None:
    from tests.governance.helpers import make_world, sqlite_url

    clock = FixedClock(datetime(2026, 6, 1, 12, tzinfo=UTC))
    w = make_world(sqlite_url(tmp_path), clock=clock)
    now = clock.now()
    with w.session() as s:
        item = record_item(
            s, actor="ian", clock=clock, place=Place(x=530250.0, y=180250.0, radius_m=200.0),
            start=now, end=now + timedelta(days=1), grading="2B P", owner="Borough unit",
            retain_until=now + timedelta(days=2), summary="Fights likely",
        )
    clock.current = now + timedelta(days=3)  # past retention: the next call purges it
    with w.session() as s:
        assert list_items(s, actor="ana", clock=clock) == []
        entries = audit.read_entries(s)
        described = [e for e in entries if f"intelligence_items/{item}" in e.detail_dict.get(
            "rows", {})]
        assert [e.detail_dict["rows"][f"intelligence_items/{item}"] for e in described] == [
            described[0].detail_dict["rows"][f"intelligence_items/{item}"], DELETED
        ]
        assert audit.verify(s).ok
    w.db.dispose()


def test_sign_in_state_is_not_governed() -> None:
    assert {"credentials", "auth_sessions", "audit_log", "audit_head",
            "audit_checkpoints"} <= UNGOVERNED_TABLES
    assert "policy_profiles" not in UNGOVERNED_TABLES and "people" not in UNGOVERNED_TABLES


def test_upgrading_a_database_with_rows_adds_a_baseline(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    migrate(engine, revision="0002_identity")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO people (username, display_name, rank, created_at) "
            "VALUES ('admin', '', NULL, '2026-06-01 12:00:00.000000')"
        )
    migrate(engine)  # 0003 (and the oversight branch)
    engine.dispose()
    db = open_database(url, create=False)
    with db.session() as s:
        entries = audit.read_entries(s)
        assert [e.action for e in entries] == ["audit_baseline"]
        assert list(json.loads(entries[0].detail)["rows"]) == ["people/1"]
        assert audit.verify(s).ok
    db.dispose()


def test_open_database_refuses_a_missing_file_when_asked(tmp_path: Path) -> None:
    from patrolcast.errors import InputError

    path = tmp_path / "absent" / "g.db"
    with pytest.raises(InputError, match=f"no database at {path}"):
        open_database(f"sqlite:///{path}", allow_new=False)
    assert not path.parent.exists()
    open_database(f"sqlite:///{path}").dispose()  # the default still creates it
    open_database(f"sqlite:///{path}", allow_new=False).dispose()


def test_the_database_refuses_edits_of_the_audit_tables(tmp_path: Path) -> None:
    from sqlalchemy.exc import IntegrityError

    world, signer = signed_world(tmp_path)
    walk_to(world, State.SUBMITTED)

    for sql in (
        "UPDATE audit_log SET actor = 'x' WHERE seq = 1",
        "DELETE FROM audit_log WHERE seq = 1",
        "UPDATE audit_checkpoints SET hash = 'x'",
        "DELETE FROM audit_checkpoints",
    ):
        with world.db.engine.begin() as conn, pytest.raises(IntegrityError, match="append-only"):
            conn.exec_driver_sql(sql)
    with world.session() as s:
        assert audit.verify(s, public_key_pem=signer.public_key_pem()).ok
    world.db.dispose()


def test_a_new_table_is_governed_until_registered(world: World) -> None:
    _raw(world, "CREATE TABLE scratch (id INTEGER PRIMARY KEY, note TEXT)")
    _raw(world, "INSERT INTO scratch (id, note) VALUES (1, 'x')")
    assert _problems(world) == (
        "scratch/1: no audit entry describes this row (inserted outside the application)",
    )
    register_ungoverned("scratch")
    try:
        assert _problems(world) == ()
    finally:
        UNGOVERNED_TABLES.discard("scratch")
