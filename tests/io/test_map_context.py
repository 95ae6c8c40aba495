"""Map context: only the boundary files near the view are read, clipped, named and attributed."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely

from patrolcast.errors import InputError
from patrolcast.io.map_context import (
    SOURCES,
    LayerSource,
    attributions,
    context_layers,
    name_at,
    naming_layer,
)
from tests.conftest import require

pytestmark = pytest.mark.realdata

CITY = (531_000.0, 180_400.0, 534_000.0, 182_000.0)  # the Square Mile, British National Grid
CROYDON = (530_000.0, 160_000.0, 536_000.0, 168_000.0)  # the MRN leaves out central London


def test_city_of_london_view_reads_only_the_nearby_wards(shared_data: Path) -> None:
    require(shared_data / "boundaries" / "london_wards.zip")
    layers = {
        layer.kind: layer for layer in context_layers("EPSG:27700", CITY, shared_data=shared_data)
    }
    assert {"force area", "borough", "ward"} <= set(layers)
    assert "London, City of" in layers["force area"].labels
    assert "City of London" in layers["borough"].labels
    wards = layers["ward"]
    assert {"Cordwainer", "Bishopsgate", "Aldgate"} <= set(wards.labels)
    assert len(wards) < 80  # of 654 London wards: the bbox filter read the neighbourhood only
    view = shapely.box(*CITY)
    # every geometry is clipped to the view (a small tolerance for floating point)
    assert all(view.buffer(1e-6).contains(g) for g in wards.geometries)


def test_roads_are_drawn_where_the_major_road_network_runs(shared_data: Path) -> None:
    require(shared_data / "boundaries" / "london_major_road_network_2018.gpkg")
    layers = context_layers("EPSG:27700", CROYDON, shared_data=shared_data)
    roads = [layer for layer in layers if layer.kind == "road"]
    assert len(roads) == 1 and len(roads[0]) > 0
    assert roads[0].labels[0] == ""  # the file carries no road names
    assert any("Department for Transport" in a for a in attributions(layers))


def test_a_chicago_view_never_opens_london_files(shared_data: Path) -> None:
    require(shared_data / "boundaries" / "us" / "chicago_community_areas.zip")
    extent = (440_000.0, 4_625_000.0, 450_000.0, 4_635_000.0)  # UTM 16N, south-west Chicago
    layers = context_layers("EPSG:32616", extent, shared_data=shared_data)
    kinds = [layer.kind for layer in layers]
    assert "ward" not in kinds and "force area" not in kinds
    areas = naming_layer(layers)
    assert areas is not None and areas.kind == "area"
    assert "Chicago Lawn" in areas.labels  # published in capitals, printed as a name
    assert attributions(layers) == [
        "Boundaries: City of Chicago Data Portal, used under its Terms of Use"
    ]


def test_name_at_gives_the_area_holding_the_point(shared_data: Path) -> None:
    layers = context_layers("EPSG:27700", CITY, shared_data=shared_data)
    wards = naming_layer(layers)
    assert wards is not None and wards.kind == "ward"
    # Bank junction lies in Cornhill/Walbrook/Cheap: whichever holds the point, it holds it
    x, y = 532_700.0, 181_150.0
    name = name_at(wards, x, y)
    (i,) = [k for k, label in enumerate(wards.labels) if label == name][:1]
    assert wards.geometries[i].buffer(1.0).contains(shapely.Point(x, y))


def test_absent_files_are_skipped_and_an_empty_view_refused(tmp_path: Path) -> None:
    assert context_layers("EPSG:27700", CITY, shared_data=tmp_path) == []
    with pytest.raises(InputError, match="empty"):
        context_layers("EPSG:27700", (1.0, 1.0, 1.0, 2.0), shared_data=tmp_path)


def test_an_unreadable_file_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "boundaries" / "broken.gpkg"
    bad.parent.mkdir()
    bad.write_bytes(b"this is not a GeoPackage")
    source = LayerSource("boundaries/broken.gpkg", "ward", (-1.0, 51.0, 1.0, 52.0), "x", "NAME")
    with pytest.raises(InputError, match="broken.gpkg: cannot read it"):
        context_layers("EPSG:27700", CITY, shared_data=tmp_path, sources=(source,))


def test_every_source_has_an_attribution_naming_its_licence() -> None:
    for source in SOURCES:
        assert "Licence v3.0" in source.attribution or "terms" in source.attribution.lower()
        if source.path.startswith("boundaries/england") or "london" in source.path:
            assert "Contains OS data © Crown copyright" in source.attribution
