"""Shared fixtures. Real data is read from ../shared/data (never copied into the repo)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from patrolcast.config import default_shared_data


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real-data folder; tests that need it skip with a reason where it is absent."""
    path = default_shared_data()
    if not (path / "PROVENANCE.md").exists():
        pytest.skip(f"real data folder {path} is absent (set PATROLCAST_SHARED_DATA)")
    return path


def require(path: Path) -> Path:
    """Skip the calling test, with the file named, when a shared data file is absent."""
    if not path.exists():
        pytest.skip(f"shared data file {path} is absent")
    return path


@pytest.fixture()
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database of its own on the test server (dropped afterwards).

    ``scripts/test.sh`` starts the server and exports ``PATROLCAST_TEST_PG_URL``.
    """
    url = os.environ.get("PATROLCAST_TEST_PG_URL")
    if not url:
        pytest.skip("PATROLCAST_TEST_PG_URL is unset: start PostgreSQL with scripts/postgres.sh")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"patrolcast_t{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
