"""PostgreSQL: the append-only triggers, the application role that cannot change the audit record,
and the replay of the tables (timestamptz values) on a real server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, ProgrammingError

from patrolcast.governance import audit
from patrolcast.governance.db import open_database, restrict_app_role
from patrolcast.governance.states import State
from tests.governance.audit_attacks import signed_world
from tests.governance.helpers import walk_to

pytestmark = pytest.mark.postgres


@pytest.fixture()
def app_role(pg_url: str) -> Iterator[tuple[str, str]]:
    """A login role for the application (not the owner); dropped before the database is."""
    role = f"pc_app_{uuid.uuid4().hex[:8]}"
    owner = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
    yield role, make_url(pg_url).set(username=role).render_as_string(hide_password=False)
    with owner.connect() as conn:
        conn.execute(text(f'DROP OWNED BY "{role}"'))
        conn.execute(text(f'DROP ROLE "{role}"'))
    owner.dispose()


def test_app_role_may_write_but_never_change_the_audit_record(
    pg_url: str, app_role: tuple[str, str], tmp_path: Path
) -> None:
    role, app_url = app_role
    world, signer = signed_world(tmp_path, url=pg_url)  # created and migrated by the owner
    pem = signer.public_key_pem()
    restrict_app_role(world.db.engine, role)
    owner_db = world.db
    world.db = open_database(app_url, create=False, allow_new=False, signer=signer)
    walk_to(world, State.ACTIVE)  # the application works as the restricted role
    with world.session() as s:
        report = audit.verify(s, public_key_pem=pem)
        assert report.ok, report.problems
    for sql in (
        "UPDATE audit_log SET actor = 'x' WHERE seq = 1",
        "DELETE FROM audit_log WHERE seq = 1",
        "TRUNCATE audit_log",
        "DELETE FROM audit_checkpoints",
        "UPDATE audit_checkpoints SET hash = 'x'",
        "DROP TRIGGER audit_log_append_only ON audit_log",
    ):
        with world.db.engine.begin() as conn, pytest.raises(ProgrammingError) as err:
            conn.exec_driver_sql(sql)
        assert "permission denied" in str(err.value) or "must be owner" in str(err.value), sql
    # the owner is stopped by the triggers
    for sql in ("UPDATE audit_log SET actor = 'x' WHERE seq = 1", "TRUNCATE audit_checkpoints"):
        with owner_db.engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
            conn.exec_driver_sql(sql)
    # an owner who drops the triggers and edits a table is still found
    with owner_db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER audit_log_append_only ON audit_log")
        conn.exec_driver_sql(
            "UPDATE proposals SET authorised_end = authorised_end + interval '6 hours'"
        )
    with world.session() as s:
        problems = audit.verify(s, public_key_pem=pem).problems
    assert any("authorised_end is" in p for p in problems), problems
    world.db.dispose()
    owner_db.dispose()
