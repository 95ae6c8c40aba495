"""Boroughs by name or GSS code, wherever a borough is named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from patrolcast.app.places import borough_code, borough_codes
from patrolcast.errors import InputError


def _square(x: float, y: float) -> dict[str, object]:
    ring = [[x, y], [x + 100, y], [x + 100, y + 100], [x, y + 100], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture()
def boroughs(tmp_path: Path) -> Path:
    features = [
        {"type": "Feature", "properties": {"gss_code": code, "name": name},
         "geometry": _square(530000 + 200 * i, 180000)}
        for i, (code, name) in enumerate([
            ("E09000001", "City of London"), ("E09000012", "Hackney"),
            ("E09000013", "Hammersmith and Fulham"),
        ])
    ]
    path = tmp_path / "boroughs.geojson"
    path.write_text(json.dumps({
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}},
        "features": features,
    }))
    return path


def test_names_and_codes_give_codes(boroughs: Path) -> None:
    assert borough_codes(["Hackney", "e09000001", "hammersmith & fulham", " City "], boroughs) == [
        "E09000012", "E09000001", "E09000013", "E09000001",
    ]
    assert borough_code("HACKNEY", boroughs) == "E09000012"


def test_an_unknown_name_is_refused_by_name(boroughs: Path) -> None:
    with pytest.raises(InputError, match="unknown borough 'Hackny'"):
        borough_codes(["Hackny"], boroughs)


def test_codes_need_no_boundaries_but_names_do(tmp_path: Path) -> None:
    absent = tmp_path / "none.gpkg"
    assert borough_codes(["E09000022"], absent) == ["E09000022"]
    with pytest.raises(InputError, match="give its GSS code"):
        borough_codes(["Lambeth"], absent)


@pytest.mark.realdata
def test_the_33_london_boroughs_by_name(shared_data: Path) -> None:
    from tests.conftest import require

    path = require(shared_data / "boundaries" / "london_boroughs.gpkg")
    names = ["Kingston upon Thames", "hammersmith & fulham", "City of London", "Westminster"]
    assert borough_codes(names, path) == ["E09000021", "E09000013", "E09000001", "E09000033"]
