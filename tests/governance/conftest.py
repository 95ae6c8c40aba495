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
    url = os.environ.get("PATROLCAST_TEST_PG_URL")
    if not url:
        pytest.skip("PATROLCAST_TEST_PG_URL is unset: start PostgreSQL with scripts/postgres.sh")
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    yield url
