"""Area supports for point data are built in the events' CRS, not always British National Grid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from patrolcast.evaluate.study import load_study
from patrolcast.events import EventSet

UTM16 = "EPSG:32616"  # a metric CRS for Chicago


class _Store:
    def __init__(self, events: EventSet) -> None:
        self._events = events

    def datasets(self) -> list[dict[str, Any]]:
        return [{"name": "city", "kind": "incidents"}]

    def events(self, dataset: str, groups: list[str] | None = None) -> EventSet:
        return self._events


def test_point_data_on_areas_share_the_events_crs(tmp_path: Path) -> None:
    # Two 1 km squares in UTM 16N around (448000, 4636000), written to a GeoPackage in WGS84.
    west = shapely.box(448_000, 4_636_000, 449_000, 4_637_000)
    east = shapely.box(449_000, 4_636_000, 450_000, 4_637_000)
    frame = gpd.GeoDataFrame(
        {"ward_code": ["W1", "W2"], "ward_name": ["west", "east"]},
        geometry=[west, east],
        crs=UTM16,
    ).to_crs("EPSG:4326")
    path = tmp_path / "wards.gpkg"
    frame.to_file(path, driver="GPKG")
    events = EventSet.from_arrays(
        [1.0, 2.0, 3.0], [448_500.0, 449_500.0, 449_600.0], [4_636_500.0] * 3, crs=UTM16
    )
    study = load_study(_Store(events), "city", level="ward", boundary=path, shared_data=tmp_path)
    assert study.support.crs == UTM16
    idx = study.support.assign(events.x, events.y)
    np.testing.assert_array_equal(np.bincount(idx, minlength=2), [1, 2])
