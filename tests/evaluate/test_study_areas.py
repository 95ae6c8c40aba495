"""Studies on real places: the hull only when asked, outside events counted, areas that cover."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely

from patrolcast.errors import InputError
from patrolcast.evaluate.study import load_study
from patrolcast.events import EventSet

UTM = "EPSG:32616"


class _Store:
    def __init__(self, events: EventSet, mapping: str | None = None) -> None:
        self._events, self._mapping = events, mapping

    def datasets(self) -> list[dict[str, Any]]:
        return [{"name": "city", "kind": "incidents", "mapping": self._mapping}]

    def events(self, dataset: str, groups: list[str] | None = None) -> EventSet:
        return self._events


def _events() -> EventSet:
    # 3 events inside a 1 km square, 2 far outside it (a mis-geocoded pair)
    x = [448_100.0, 448_500.0, 448_900.0, 470_000.0, 470_100.0]
    y = [4_636_100.0, 4_636_500.0, 4_636_900.0, 4_650_000.0, 4_650_100.0]
    return EventSet.from_arrays([1.0, 2.0, 3.0, 4.0, 5.0], x, y, crs=UTM)


def _boundary(tmp_path: Path) -> Path:
    path = tmp_path / "city.gpkg"
    gpd.GeoDataFrame(
        {"name": ["city"]}, geometry=[shapely.box(448_000, 4_636_000, 449_000, 4_637_000)],
        crs=UTM,
    ).to_file(path, driver="GPKG")
    return path


def test_events_outside_the_boundary_are_counted_and_left_out(tmp_path: Path) -> None:
    study = load_study(_Store(_events()), "city", boundary=_boundary(tmp_path),
                       shared_data=tmp_path)
    assert len(study.events) == 3
    assert study.n_outside == 2
    assert study.support.n_units == 16  # 1 km2 of 250 m cells, not the 22 km hull
    info = study.study_area_json()
    assert info["km2"] == pytest.approx(1.0) and "city.gpkg" in info["source"]
    assert any("outside the study area" in n for n in study.notes)


def test_no_known_study_area_is_refused_and_the_hull_comes_with_a_warning(
    tmp_path: Path,
) -> None:
    with pytest.raises(InputError, match="--study-area hull"):
        load_study(_Store(_events()), "city", shared_data=tmp_path)
    hull = load_study(_Store(_events()), "city", study_area="hull", shared_data=tmp_path)
    assert hull.warnings and "convex hull" in hull.warnings[0]
    assert hull.support.n_units > 10 * 16  # the hull reaches the stray points


def test_a_mapping_names_its_city_limits(tmp_path: Path) -> None:
    # the chicago mapping's [study_area] is boundaries/us/chicago_city_limits.zip; when the
    # file is not there the study is refused in one line, never built on the hull
    with pytest.raises(InputError, match="chicago_city_limits.zip is missing"):
        load_study(_Store(_events(), mapping="chicago"), "city", shared_data=tmp_path)


def test_areas_that_do_not_cover_the_data_are_refused(tmp_path: Path) -> None:
    far = tmp_path / "lsoa.gpkg"
    gpd.GeoDataFrame(
        {"lsoa21cd": ["E01"], "lsoa21nm": ["far"]},
        geometry=[shapely.box(400_000, 4_600_000, 401_000, 4_601_000)], crs=UTM,
    ).to_file(far, driver="GPKG")
    with pytest.raises(InputError, match="do not cover"):
        load_study(_Store(_events()), "city", level="lsoa", boundary=far, shared_data=tmp_path)
