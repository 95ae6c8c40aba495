"""The picture: a real forecaster and graded items side by side, written as CSV and PNG."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from patrolcast.events import EventSet, to_days
from patrolcast.geo.support import Grid
from patrolcast.oversight.grading import Grading
from patrolcast.oversight.intelligence import IntelligenceItem, Place
from patrolcast.oversight.picture import build_picture, write_picture_csv, write_picture_png

T0 = datetime(2025, 6, 1, tzinfo=UTC)


def test_picture_end_to_end(tmp_path: Path) -> None:
    grid = Grid.covering(0, 0, 999, 999, cell_size=100.0, crs="EPSG:27700")
    rng = np.random.default_rng(1)
    n = 200
    events = EventSet.from_arrays(
        to_days(T0) - rng.uniform(1, 60, n), rng.normal(300, 60, n), rng.normal(300, 60, n),
        crs="EPSG:27700",
    )
    item = IntelligenceItem(
        item_id="7", place=Place(x=750.0, y=750.0, radius_m=120.0), start=T0,
        end=T0 + timedelta(days=1), grading=Grading.parse("1B P"), owner="desk",
        retain_until=T0 + timedelta(days=30), summary="Reprisal expected near the park",
    )
    study = SimpleNamespace(events=events, support=grid)
    picture = build_picture(study, "naive", to_days(T0), to_days(T0) + 1, [item])
    frame = picture.to_frame()
    hot = int(np.argmax(picture.forecast_harm))
    # data say south-west, intelligence says north-east: both visible, neither overwrites
    assert picture.uplift[hot] == 0.0
    assert frame.loc[frame["intelligence_rank"] == 1, "forecast_expected_harm"].max() == 0.0
    rows = list(csv.reader(write_picture_csv(picture, tmp_path / "p.csv").open()))
    assert rows[0][:3] == ["unit_id", "forecast_expected_harm", "forecast_rank"]
    assert {r[5] for r in rows[1:]} == {"", "7"}
    png = write_picture_png(picture, grid, tmp_path / "p.png")
    assert png.stat().st_size > 1000
