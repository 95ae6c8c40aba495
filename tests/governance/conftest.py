"""Fixtures for governance tests: a fresh SQLite world, and a PostgreSQL URL when available."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.governance.helpers import World, make_world, sqlite_url


@pytest.fixture()
def world(tmp_path: Path) -> Iterator[World]:
    w = make_world(sqlite_url(tmp_path))
    yield w
    w.db.dispose()


@pytest.fixture()
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database of its own on the test server (dropped afterwards)."""
    url = os.environ.get("PATROLCAST_TEST_PG_URL")
    if not url:
        pytest.skip("PATROLCAST_TEST_PG_URL is unset: start PostgreSQL with scripts/postgres.sh")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"patrolcast_gov_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
