"""One grant per person, role and scope in the database itself, force-wide grants included.

The unique constraint (person, role, borough) let a force-wide grant (borough NULL) be stored
twice, since SQL treats NULLs as distinct; migration 0004 adds a unique index on
(person, role, coalesce(borough, '')). Checked on SQLite and on the test PostgreSQL server, and
an older database holding such duplicates is refused by the upgrade with their names.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from patrolcast.governance.db import migrate, open_database

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC).replace(tzinfo=None).isoformat(sep=" ")


def _person(engine: Engine, username: str) -> int:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO people (username, display_name, rank, created_at) "
                "VALUES (:u, :u, NULL, :t)"
            ),
            {"u": username, "t": NOW},
        )
        return int(
            conn.execute(
                text("SELECT id FROM people WHERE username = :u"), {"u": username}
            ).scalar_one()
        )


def _grant(engine: Engine, person: int, role: str, borough: str | None) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO role_grants (person_id, role, borough, granted_at, granted_by) "
                "VALUES (:p, :r, :b, :t, 'admin')"
            ),
            {"p": person, "r": role, "b": borough, "t": NOW},
        )


def _check_one_grant_per_scope(engine: Engine) -> None:
    alice = _person(engine, "alice")
    _grant(engine, alice, "analyst", None)
    with pytest.raises(IntegrityError):
        _grant(engine, alice, "analyst", None)  # force-wide, twice
    _grant(engine, alice, "borough_commander", "E09000001")
    _grant(engine, alice, "borough_commander", "E09000033")  # another scope: allowed
    with pytest.raises(IntegrityError):
        _grant(engine, alice, "borough_commander", "E09000001")
    bob = _person(engine, "bob")
    _grant(engine, bob, "analyst", None)  # another person: allowed
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM role_grants")).scalar_one() == 4


def test_sqlite_refuses_a_second_force_wide_grant(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'g.db'}")
    try:
        _check_one_grant_per_scope(db.engine)
    finally:
        db.dispose()


@pytest.mark.postgres
def test_postgres_refuses_a_second_force_wide_grant(pg_url: str) -> None:
    db = open_database(pg_url)
    try:
        _check_one_grant_per_scope(db.engine)
    finally:
        db.dispose()


def test_an_older_database_with_duplicate_grants_is_refused_by_name(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate(engine, revision="0003_audit_protection")
    carol = _person(engine, "carol")
    _grant(engine, carol, "authorising_officer", None)
    _grant(engine, carol, "authorising_officer", None)  # the old schema lets it in
    with pytest.raises(RuntimeError, match=r"carol authorising_officer x2"):
        migrate(engine)
    with engine.connect() as conn:  # nothing removed behind anyone's back
        assert conn.execute(text("SELECT COUNT(*) FROM role_grants")).scalar_one() == 2
    engine.dispose()
