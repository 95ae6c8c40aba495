"""Shared fixtures. Real data is read from ../shared/data (never copied into the repo)."""

from __future__ import annotations

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
