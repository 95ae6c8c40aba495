"""API worlds on SQLite and on the real PostgreSQL the test script starts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.world import ApiWorld, make_api_world


@pytest.fixture(params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApiWorld]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'gov.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    world = make_api_world(url, tmp_path / "keys")
    yield world
    world.ctx.db.dispose()


@pytest.fixture()
def api_sqlite(tmp_path: Path) -> Iterator[ApiWorld]:
    world = make_api_world(f"sqlite:///{tmp_path / 'gov.db'}", tmp_path / "keys")
    yield world
    world.ctx.db.dispose()
