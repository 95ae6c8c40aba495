"""Findings on areas and borough codes: validated before anything else, in one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely

from patrolcast.errors import InputError
from patrolcast.governance import audit, service
from patrolcast.governance.models import Proposal
from patrolcast.governance.places import (
    BoroughList,
    borough_code,
    boroughs_intersecting,
    load_borough_list,
)
from patrolcast.governance.states import Refused, State
from patrolcast.governance.values import (
    MIN_AREA_M2,
    Area,
    ConsultationDetails,
    area_crs,
    bbox_wkt,
)
from tests.conftest import require
from tests.governance.helpers import World, authorisation, walk_to

SQUARE = "POLYGON((530000 180000,530500 180000,530500 180500,530000 180500,530000 180000))"
B = ("E09000001",)


def test_lon_lat_given_as_metres_is_refused() -> None:
    """The reviewed case: central London in degrees read as BNG metres (0.0001 m2 off Scilly)."""
    lonlat = "POLYGON((-0.1 51.5,-0.09 51.5,-0.09 51.51,-0.1 51.51,-0.1 51.5))"
    with pytest.raises(InputError, match="degrees given as metres"):
        Area(wkt=lonlat, boroughs=B)
    # the same numbers with the geographic CRS are refused as not projected
    with pytest.raises(InputError, match="not projected"):
        Area(wkt=lonlat, boroughs=B, crs="EPSG:4326")


def test_area_outside_the_crs_area_of_use_is_refused() -> None:
    far = bbox_wkt(5_000_000, 5_000_000, 5_000_500, 5_000_500)
    with pytest.raises(InputError, match="outside the area of use"):
        Area(wkt=far, boroughs=B)
    # UTM 30N is valid 6W..0: central London (0.1W) is inside, Paris-sized offsets are not
    with pytest.raises(InputError, match="outside the area of use"):
        Area(wkt=bbox_wkt(1_500_000, 5_700_000, 1_500_500, 5_700_500), boroughs=B, crs="EPSG:32630")


@pytest.mark.parametrize(
    ("crs", "words"),
    [
        ("EPSG:2263", "not metres"),  # New York State Plane, US survey feet
        ("EPSG:4326", "not projected"),
        ("EPSG:999999", "not a CRS pyproj knows"),
        ("+proj=tmerc +lat_0=49 +lon_0=-2 +k=0.9996 +x_0=400000 +y_0=-100000", "EPSG code"),
        ("x" * 500, "EPSG code"),
    ],
)
def test_crs_must_be_projected_metres_by_axis_units(crs: str, words: str) -> None:
    with pytest.raises(InputError, match=words):
        area_crs(crs)


def test_crs_is_stored_as_its_epsg_code() -> None:
    assert area_crs("epsg:27700") == "EPSG:27700"
    assert Area(wkt=SQUARE, boroughs=B, crs="epsg:27700").crs == "EPSG:27700"


@pytest.mark.parametrize(
    ("wkt", "words"),
    [
        (SQUARE + " garbage", "not readable WKT"),
        (SQUARE + ",POINT(1 1)", "not readable WKT"),
        (
            "POLYGON((530000 180000,530500 180500,530500 180000,530000 180500,530000 180000))",
            "invalid",
        ),
        ("POLYGON((nan 180000,530500 180000,530500 180500,nan 180000))", "not readable|finite"),
        ("POLYGON((inf 180000,530500 180000,530500 180500,inf 180000))", "finite"),
        ("POLYGON((530000 180000,1e308 180000,1e308 1e308,530000 180000))", "area of use|finite"),
        ("CURVEPOLYGON(CIRCULARSTRING(530000 180000,530500 180500,530000 180000))", "curved"),
        ("POLYGON EMPTY", "non-empty"),
        ("POINT(530000 180000)", "Polygon"),
        ("GEOMETRYCOLLECTION(" + SQUARE + ")", "Polygon"),
        ("POLYGON Z((530000 180000 1,530500 180000 1,530500 180500 1,530000 180000 1))", "2-D"),
        ("POLYGON((530000 180000,530500 180000,530500 180500))", "not readable"),
        ("", "Polygon"),
        ("SRID=27700;" + SQUARE, "Polygon"),
    ],
)
def test_bad_geometry_is_one_clear_input_error(wkt: str, words: str) -> None:
    with pytest.raises(InputError, match=words):
        Area(wkt=wkt, boroughs=B)


def test_non_text_geometry_and_too_small_area() -> None:
    with pytest.raises(InputError, match="WKT text"):
        Area(wkt=b"POLYGON((0 0,1 0,1 1,0 0))", boroughs=B)  # type: ignore[arg-type]
    tiny = bbox_wkt(530000, 180000, 530005, 180005)
    with pytest.raises(InputError, match=f"below the {MIN_AREA_M2:g} m2"):
        Area(wkt=tiny, boroughs=B)
    for bad in ((float("nan"), 0, 1, 1), (0, 0, float("inf"), 1), (1, 1, 0, 0)):
        with pytest.raises(InputError, match="bbox"):
            bbox_wkt(*bad)


def test_wkt_is_stored_canonically() -> None:
    area = Area(
        wkt="  polygon((530000 180000,530500 180000,530500 180500,530000 180000))", boroughs=B
    )
    assert area.wkt.startswith("POLYGON ((530000 180000")
    assert shapely.from_wkt(area.wkt).area == pytest.approx(125000.0)


@pytest.mark.parametrize(
    "text",
    [
        "Jane Smith, 12 Acacia Avenue",
        "01/02/1990",
        "07700 900123",
        "E09000001 ",  # fine after strip: see below
        "E0900000",
        "E090000011",
        "X09000001",
        "E09000001\n",
    ],
)
def test_borough_codes_must_be_gss_codes(text: str) -> None:
    if text == "E09000001 ":
        assert borough_code(text) == "E09000001"
        return
    if text == "E09000001\n":
        assert borough_code(text) == "E09000001"  # surrounding whitespace only is stripped
        return
    with pytest.raises(InputError, match="GSS code") as err:
        Area(wkt=SQUARE, boroughs=(text,))
    assert text.strip() not in str(err.value)  # never echoed (it may be personal data)
    with pytest.raises(InputError, match="GSS code"):
        ConsultationDetails(text, "support", "Agreed.")


def test_role_spec_borough_must_be_a_gss_code() -> None:
    from patrolcast.governance.roles import Role, RoleSpec

    with pytest.raises(InputError, match="GSS code"):
        RoleSpec(Role.BOROUGH_COMMANDER, "Jane Smith 07700 900123")
    assert RoleSpec.parse("borough_commander:e09000033").borough == "E09000033"


@pytest.mark.realdata  # the London boroughs GeoPackage in ../shared/data
def test_london_borough_list_and_intersections(shared_data: Path) -> None:
    boroughs = load_borough_list(require(shared_data / "boundaries" / "london_boroughs.gpkg"))
    assert len(boroughs) == 33
    assert boroughs.name_of("E09000001") == "City of London"
    assert "E09000033" in boroughs and "E09999999" not in boroughs
    with pytest.raises(InputError, match="not a known borough"):
        boroughs.require("E09999999")
    # a square inside the City of London touches only the City
    city = bbox_wkt(532000, 181000, 532300, 181300)
    assert boroughs_intersecting(city, "EPSG:27700", boroughs) == ("E09000001",)
    # a square across the City / Tower Hamlets boundary touches both
    across = bbox_wkt(533500, 181000, 534200, 181600)
    assert set(boroughs_intersecting(across, "EPSG:27700", boroughs)) >= {
        "E09000001",
        "E09000030",
    }


@pytest.mark.realdata  # the London boroughs GeoPackage in ../shared/data
def test_area_within_a_borough_list(shared_data: Path) -> None:
    boroughs = load_borough_list(require(shared_data / "boundaries" / "london_boroughs.gpkg"))
    # the given codes must be known, and the touched boroughs are added
    area = Area(
        wkt=bbox_wkt(533500, 181000, 534200, 181600), boroughs=("E09000001",), within=boroughs
    )
    assert {"E09000001", "E09000030"} <= set(area.boroughs)
    with pytest.raises(InputError, match="not a known borough"):
        Area(wkt=SQUARE, boroughs=("E09999999",), within=boroughs)
    # a polygon outside London (Manchester, in BNG) is refused when a boundary is given
    with pytest.raises(InputError, match="outside the known boroughs"):
        Area(wkt=bbox_wkt(383000, 398000, 383500, 398500), boroughs=B, within=boroughs)
    # without a given code the list computes them
    assert Area(wkt=bbox_wkt(532000, 181000, 532300, 181300), within=boroughs).boroughs == (
        "E09000001",
    )


def test_a_borough_list_refuses_non_gss_codes() -> None:
    with pytest.raises(InputError, match="GSS code"):
        BoroughList(codes=("Camden",), names=("Camden",))


def test_a_stored_area_that_fails_validation_cannot_be_submitted_or_authorised(
    world: World,
) -> None:
    """A row written before the area rules (lon/lat read as metres, 0.0001 m2) is refused."""
    lonlat = "POLYGON((-0.1 51.5,-0.09 51.5,-0.09 51.51,-0.1 51.51,-0.1 51.5))"
    draft = walk_to(world, State.DRAFT)
    consulted = walk_to(world, State.CONSULTED, offset=3000.0)
    with world.session() as s:
        for pid in (draft, consulted):
            p = s.get(Proposal, pid)
            assert p is not None
            p.area_wkt, p.area_km2 = lonlat, 1e-10
        s.flush()
        audit.append(
            s,
            actor="admin",
            action="legacy_fixture",
            target_type="proposal",
            target_id="-",
            outcome="done",
            detail={},
            now=world.clock.now(),
        )
        s.commit()
        with pytest.raises(Refused) as err:
            service.submit(s, actor="ana", clock=world.clock, proposal_id=draft)
        assert err.value.rule == "area-invalid" and "degrees given as metres" in err.value.reason
        with pytest.raises(Refused) as err:
            service.authorise(
                s,
                actor="acc1",
                clock=world.clock,
                proposal_id=consulted,
                details=authorisation(world),
            )
        assert err.value.rule == "area-invalid"
