"""Area-by-month counts as events at representative points."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
import shapely

from patrolcast.errors import InputError
from patrolcast.events import to_days
from patrolcast.geo.area_counts import events_from_area_counts, month_start_days
from patrolcast.geo.support import AreaSupport

CRS = "EPSG:27700"


@pytest.fixture()
def areas() -> AreaSupport:
    # a U-shaped area whose centroid lies outside it: the representative point must not
    u = shapely.Polygon(
        [(0, 0), (300, 0), (300, 300), (200, 300), (200, 100), (100, 100), (100, 300), (0, 300)]
    )
    b = shapely.box(300, 0, 600, 300)
    return AreaSupport(("E01U", "E01B"), ("U", "B"), (u, b), CRS, level="lsoa")


def test_events_at_representative_points_and_month_starts(areas: AreaSupport) -> None:
    frame = pd.DataFrame(
        {
            "area_code": ["E01U", "E01B", "E01B", "E01ZZ", "E01U"],
            "month": ["2024-02", "202403", "2024-03", "2024-03", "2024-04"],
            "count": [3, 2, 0, 5, 1],
            "harm": [30.0, 2.0, 0.0, 50.0, 7.0],
        }
    )
    out = events_from_area_counts(frame, areas)
    ev = out.events
    assert ev.time_precision == "month" and ev.crs == CRS
    assert len(ev) == 3  # the zero row carries no events, the unknown code is reported
    assert out.unmatched_codes == ("E01ZZ",)
    assert out.unmatched_rows == 1 and out.unmatched_count == 5
    assert ev.total_count + out.unmatched_count == frame["count"].sum()
    # every record lies inside its own area (the U's centroid would not)
    assert np.array_equal(areas.assign(ev.x, ev.y), areas.index_of(["E01U", "E01B", "E01U"]))
    feb = to_days(datetime(2024, 2, 1, tzinfo=UTC))
    mar = to_days(datetime(2024, 3, 1, tzinfo=UTC))
    apr = to_days(datetime(2024, 4, 1, tzinfo=UTC))
    np.testing.assert_array_equal(ev.t, [feb, mar, apr])
    np.testing.assert_array_equal(ev.harm, [30.0, 2.0, 7.0])


def test_month_formats() -> None:
    jan = to_days(datetime(2025, 1, 1, tzinfo=UTC))
    for month in (
        pd.Series(["2025-01"]),
        pd.Series([202501]),
        pd.Series(pd.to_datetime(["2025-01-17"])),
        pd.Series(pd.period_range("2025-01", periods=1, freq="M")),
        pd.Series(pd.to_datetime(["2025-01-01T00:00Z"])),
    ):
        assert month_start_days(month)[0] == jan


def test_bad_area_counts_refused(areas: AreaSupport) -> None:
    with pytest.raises(InputError, match="missing month"):
        events_from_area_counts(pd.DataFrame({"area_code": ["E01U"], "count": [1]}), areas)
    with pytest.raises(InputError, match="non-negative"):
        events_from_area_counts(
            pd.DataFrame({"area_code": ["E01U"], "month": ["2024-01"], "count": [-1]}), areas
        )
    with pytest.raises(InputError, match="cannot read month"):
        events_from_area_counts(
            pd.DataFrame({"area_code": ["E01U"], "month": ["Jan"], "count": [1]}), areas
        )


@pytest.mark.realdata
def test_london_lsoa_violence_counts_all_match(shared_data) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    from patrolcast.geo.boundaries import read_areas
    from tests.conftest import require

    root = Path(shared_data)
    lsoas = read_areas(require(root / "boundaries" / "london_lsoa2021_by_borough_shp.zip"))
    wide = pd.read_csv(require(root / "london_datastore_mps" / "recorded-crime-lsoa.csv.gz"))
    violence = wide[wide["major_category"] == "VIOLENCE AGAINST THE PERSON"]
    months = [c for c in wide.columns if c.isdigit()]
    long = violence.melt(
        id_vars=["lsoa_code"], value_vars=months, var_name="month", value_name="count"
    ).rename(columns={"lsoa_code": "area_code"})
    out = events_from_area_counts(long, lsoas)
    # PROVENANCE: all 4,988 LSOA 2021 codes of the file are in the boundary release
    assert out.unmatched_codes == ()
    assert out.events.total_count == long["count"].sum()
    assert len(np.unique(out.events.t)) == len(months)
    assert np.all(lsoas.assign(out.events.x, out.events.y) >= 0)
