"""The locator map of a proposed area: the area with its surroundings, named."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely

from patrolcast.errors import InputError
from patrolcast.io.place_map import place_map_layers, write_place_map

BANK = shapely.box(532_400, 180_900, 532_900, 181_300)  # around Bank junction, the City


@pytest.mark.realdata
def test_the_view_holds_the_area_and_its_named_surroundings(shared_data: Path) -> None:
    layers = place_map_layers(BANK, "EPSG:27700", shared_data=shared_data, margin=400.0)
    wards = [layer for layer in layers if layer.kind == "ward"]
    assert wards and {"Cornhill", "Walbrook", "Cheap"} <= set(wards[0].labels)
    far = shapely.box(*shapely.bounds(BANK)).buffer(5_000)
    assert all(far.contains(g) for g in wards[0].geometries)  # the neighbourhood, not London


def test_the_png_is_written_without_context_too(tmp_path: Path) -> None:
    path = write_place_map(BANK, "EPSG:27700", tmp_path / "a" / "place.png", shared_data=None)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(InputError, match="non-empty geometry"):
        write_place_map(shapely.Polygon(), "EPSG:27700", tmp_path / "b.png", shared_data=None)
