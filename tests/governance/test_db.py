"""Storage: SQLite settings, UTC columns, retries of serialisation failures, migrations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from patrolcast.governance import audit
from patrolcast.governance.db import is_retryable, open_database, run_transaction
from patrolcast.governance.models import ForecastSnapshot


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


def test_sqlite_is_wal_full_with_foreign_keys(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'g.db'}")
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    db.dispose()


def test_times_round_trip_as_utc_and_naive_refused(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'g.db'}")
    bst = timezone(timedelta(hours=1))
    with db.session() as s:
        row = ForecastSnapshot(
            method="m",
            params={},
            created_at=datetime(2026, 7, 1, 13, tzinfo=bst),
            digest="ab" * 8,
            uri="",
            recorded_at=datetime.now(UTC),
        )
        s.add(row)
        audit.append(  # every governed write is described by an audit entry
            s, actor="t", action="snapshot_record", target_type="snapshot", target_id="1",
            outcome="done", detail={}, now=datetime.now(UTC),
        )
        s.commit()
        s.expire_all()
        back = s.get(ForecastSnapshot, row.id)
        assert back is not None and back.created_at == datetime(2026, 7, 1, 12, tzinfo=UTC)
        assert back.created_at.tzinfo is not None
        s.add(
            ForecastSnapshot(
                method="m",
                params={},
                created_at=datetime(2026, 7, 1),
                digest="ab" * 8,
                uri="",
                recorded_at=datetime.now(UTC),
            )
        )
        with pytest.raises(Exception, match="naive"):
            s.commit()
    db.dispose()


def test_serialisation_failures_are_retried() -> None:
    assert is_retryable(OperationalError("x", {}, _PgError("40001")))
    assert is_retryable(OperationalError("x", {}, _PgError("40P01")))
    assert not is_retryable(OperationalError("x", {}, _PgError("23505")))

    class FakeSession:
        commits = rollbacks = 0

        def commit(self) -> None:
            self.commits += 1

        def rollback(self) -> None:
            self.rollbacks += 1

    calls = []

    def work() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("UPDATE ...", {}, _PgError("40001"))
        return "done"

    session = FakeSession()
    assert run_transaction(session, work) == "done"  # type: ignore[arg-type]
    assert (len(calls), session.rollbacks, session.commits) == (3, 2, 1)


def test_migrations_are_idempotent_and_create_every_table(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'g.db'}"
    open_database(url).dispose()
    db = open_database(url)  # second run: nothing to do
    with db.engine.connect() as conn:
        tables = {
            r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))
        }
        head = conn.execute(text("SELECT seq, hash FROM audit_head")).one()
    assert {
        "proposals",
        "audit_log",
        "audit_head",
        "community_impact_assessments",
        "consultations",
        "decisions",
        "people",
        "role_grants",
        "forecast_snapshots",
    } <= tables
    assert head == (0, "0" * 64)
    db.dispose()
