"""Fixtures for governance tests: a fresh SQLite world, and a PostgreSQL URL when available."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.governance.helpers import World, make_world, sqlite_url


@pytest.fixture()
def world(tmp_path: Path) -> Iterator[World]:
    w = make_world(sqlite_url(tmp_path))
    yield w
    w.db.dispose()

