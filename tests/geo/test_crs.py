"""CRS checks and projection with a report of the transformation used."""

from __future__ import annotations

import numpy as np
import pytest

from patrolcast.errors import InputError
from patrolcast.geo.crs import crs_name, lonlat_to, metric_crs, transform


def test_metric_crs_accepts_projected_metres() -> None:
    assert metric_crs("EPSG:27700").is_projected
    assert metric_crs(32616).is_projected


@pytest.mark.parametrize(
    ("crs", "why"),
    [("EPSG:4326", "not projected"), ("EPSG:2263", "not metres"), ("EPSG:999999", "unknown CRS")],
)
def test_metric_crs_refuses_degrees_feet_and_nonsense(crs: str, why: str) -> None:
    with pytest.raises(InputError, match=why):
        metric_crs(crs)


def test_projection_matches_ordnance_survey_worked_example() -> None:
    # OS "A guide to coordinate systems in Great Britain": worked projection example,
    # OSGB36 52°39'27.2531"N 1°43'4.5177"E -> E 651409.903 N 313177.270
    lat = 52 + 39 / 60 + 27.2531 / 3600
    lon = 1 + 43 / 60 + 4.5177 / 3600
    x, y, report = transform([lon], [lat], source="EPSG:4277", target="EPSG:27700")
    assert x[0] == pytest.approx(651409.903, abs=0.005)
    assert y[0] == pytest.approx(313177.270, abs=0.005)
    assert not report.uses_fallback


def test_wgs84_to_bng_reports_the_operation_and_any_fallback() -> None:
    lon = np.array([-0.1276, np.nan, -0.0877])
    lat = np.array([51.5072, 51.5, 51.5055])
    x, y, report = lonlat_to(lon, lat, "EPSG:27700")
    assert np.isnan(x[1]) and np.isnan(y[1])
    assert 500_000 < x[0] < 560_000 and 160_000 < y[0] < 200_000
    assert "OSGB36" in report.operation
    assert report.source == "EPSG:4326" and report.target == "EPSG:27700"
    if report.uses_fallback:  # wheels without grids: Helmert, a few metres
        assert report.missing_grids and "OSTN15" in " ".join(report.missing_grids)
        assert report.accuracy_m is not None and report.accuracy_m <= 5
        assert "not installed" in report.note
    same_x, same_y, identity = transform(x, y, source="EPSG:27700", target="EPSG:27700")
    np.testing.assert_array_equal(same_x, x)
    assert identity.operation == "identity"


def test_crs_name_normalises() -> None:
    assert crs_name("epsg:27700") == "EPSG:27700"
    assert crs_name(27700) == "EPSG:27700"


def test_target_must_be_metric() -> None:
    with pytest.raises(InputError):
        lonlat_to([0.0], [51.0], "EPSG:4326")
