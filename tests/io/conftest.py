"""Fixtures of the io tests: a real forecast to draw briefing outputs from."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require

START = datetime(2020, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="session")
def city_forecast(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, Any]]:
    """A real 7-day KDE forecast for the City of London from 12 months of data.police.uk."""
    from patrolcast.evaluate.study import load_study
    from patrolcast.events import to_days
    from patrolcast.forecast.registry import make_forecaster
    from patrolcast.io import Store, ingest

    folder = require(shared_data / "police_uk" / "city_of_london_street")
    tmp = tmp_path_factory.mktemp("city")
    (tmp / "in").mkdir()
    for f in sorted(folder.glob("*.csv.gz"))[-12:]:
        (tmp / "in" / f.name).symlink_to(f)
    ingest(tmp / "in", store=tmp / "store", dataset="col")
    study = load_study(Store(tmp / "store"), "col", shared_data=shared_data)
    start = to_days(START)
    model = make_forecaster("kde", horizon_days=7.0)
    model.fit(study.events, cutoff=start)
    yield study, model.predict(study.support, start, start + 7)
