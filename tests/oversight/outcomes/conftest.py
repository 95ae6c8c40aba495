"""Real Chicago aggravated assaults, ingested once per session into a temporary store."""

from __future__ import annotations

from pathlib import Path

import pytest

from patrolcast.events import EventSet
from tests.conftest import require


@pytest.fixture(scope="session")
def chicago_events(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> EventSet:
    from patrolcast.io import Store, ingest

    path = require(shared_data / "incidents_timestamped" / "chicago_aggravated_assaults.csv.gz")
    root = tmp_path_factory.mktemp("chicago_store")
    ingest(path, store=root, dataset="chicago", mapping="chicago")
    return Store(root).events("chicago")
