"""Briefing maps: cropped to the study area, context, legend with units, top places, footer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import shapely

from patrolcast import __version__
from patrolcast.errors import InputError
from patrolcast.geo.support import AreaSupport, Grid
from patrolcast.io.briefing_map import (
    CHICAGO,
    POLICE_UK,
    BriefingContext,
    DataSource,
    briefing_figure,
    data_source_for,
    horizon_label,
    legend_label,
    support_bounds,
    top_places,
    view_extent,
    write_briefing_map,
)
from tests.conftest import require

START = datetime(2020, 11, 1, tzinfo=UTC)


def _texts(fig: Any) -> str:
    """Every text a figure prints (figure texts, legends, annotations), wrapped lines joined."""
    found = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    return " ".join(" ".join(str(t).split()) for t in found)


def _square_grid() -> tuple[Grid, Any]:
    area = shapely.box(0, 0, 5_000, 5_000)
    return Grid.clipped_to(area, cell_size=250.0, crs="EPSG:27700"), area


def _context(area: Any, **kw: Any) -> BriefingContext:
    base: dict[str, Any] = {
        "study_area": area,
        "window_start": START,
        "window_end": START + timedelta(days=7),
        "method": "kde",
        "data": POLICE_UK,
        "created_at": datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
    }
    return BriefingContext(**{**base, **kw})


def test_legend_states_units_and_window_and_the_cap_is_said() -> None:
    grid, area = _square_grid()
    values = np.linspace(0.0, 1.0, grid.n_units)
    values[-1] = 50.0  # one outlier: the colour scale stops at the 99.5th percentile
    fig, _ = briefing_figure(values, grid, context=_context(area))
    text = _texts(fig)
    assert "expected violent offences per 250 m cell, 7 days" in text
    assert "capped at the 99.5th percentile" in text
    assert "2 place(s) above it" in text  # 400 cells: 0.5% above the percentile
    fig, _ = briefing_figure(
        np.linspace(0.0, 1.0, grid.n_units), grid, context=_context(area, cap_percentile=100.0)
    )
    assert "not capped" in _texts(fig)
    fig, places = briefing_figure(np.zeros(grid.n_units), grid, context=_context(area))
    assert places == [] and "Every place has an expected value of 0" in _texts(fig)
    assert "No place has an expected value above zero." in _texts(fig)


def test_marking_top_and_bottom_footer_and_attribution() -> None:
    grid, area = _square_grid()
    ctx = _context(area, marking="SECRET <test>", dataset="col", notes=("a gap in the data",))
    fig, _ = briefing_figure(np.ones(grid.n_units), grid, context=ctx)
    texts = [t.get_text() for t in fig.texts]
    assert texts.count("SECRET <test>") == 2
    footer = "\n".join(texts).replace("\n", " ")
    assert "Created 2026-01-02 03:04 UTC" in footer
    assert f"patrolcast {__version__}" in footer
    assert "Month precision" in footer and "Anonymised locations" in footer
    assert "a gap in the data" in footer
    assert "Open Government Licence v3.0" in footer
    assert "Contains OS data © Crown copyright and database right" in footer
    assert "Sun 01 Nov 2020 00:00 to Sun 08 Nov 2020 00:00 (Europe/London)" in footer


def test_axes_carry_no_raw_coordinates() -> None:
    grid, area = _square_grid()
    fig, _ = briefing_figure(np.ones(grid.n_units), grid, context=_context(area))
    ax = fig.axes[0]
    assert list(ax.get_xticks()) == [] and list(ax.get_yticks()) == []
    assert ax.get_xlabel() == "" and ax.get_ylabel() == ""
    assert "1 km" in [t.get_text() for t in ax.texts]  # the scale bar says its length
    assert "N" in [t.get_text() for t in ax.texts]


def test_view_is_cropped_to_the_study_area_not_the_data_extent() -> None:
    small = shapely.box(531_000, 180_500, 533_800, 181_900)  # the size of the Square Mile
    extent = view_extent(small, aspect=1.5)
    xmin, ymin, xmax, ymax = extent
    assert xmin <= 531_000 and xmax >= 533_800 and ymin <= 180_500 and ymax >= 181_900
    assert (xmax - xmin) / (ymax - ymin) == pytest.approx(1.5)
    assert (xmax - xmin) < 1.1 * 2_800  # the study area fills the view (3% margins)


def test_top_places_outlined_with_a_halo_on_the_darkest_cells() -> None:
    grid, area = _square_grid()
    values = np.zeros(grid.n_units)
    values[[10, 11, 200]] = [3.0, 5.0, 4.0]
    places = top_places(values, grid, 5)
    assert [(p.rank, p.value) for p in places] == [(1, 5.0), (2, 4.0), (3, 3.0)]  # zeros left out
    assert places[0].unit_id == grid.unit_ids[11]
    fig, shown = briefing_figure(values, grid, context=_context(area, top_n=2))
    assert [p.unit_id for p in shown] == [grid.unit_ids[11], grid.unit_ids[200]]
    ax = fig.axes[0]
    ranks = [t for t in ax.texts if t.get_text() in ("1", "2")]
    assert len(ranks) == 2
    # the outline: a white line wider than, and drawn under, a dark line over the same path
    lines = [c for c in ax.collections if c.get_zorder() in (9, 10)]
    halo, dark = sorted(lines, key=lambda c: c.get_zorder())
    assert tuple(halo.get_edgecolor()[0][:3]) == (1.0, 1.0, 1.0)
    assert max(dark.get_edgecolor()[0][:3]) < 0.5
    assert halo.get_linewidth()[0] > dark.get_linewidth()[0]


def test_areas_are_labelled_per_area_with_their_unit() -> None:
    polys = (shapely.box(0, 0, 1000, 1000), shapely.box(1000, 0, 2000, 1000))
    areas = AreaSupport(("E01", "E02"), ("A", "B"), polys, "EPSG:27700", level="lsoa")
    ctx = _context(shapely.box(0, 0, 2000, 1000), target="harm")
    assert legend_label(areas, ctx).startswith("expected harm (ONS Crime Severity Score")
    assert legend_label(areas, ctx).endswith("per LSOA, 7 days")
    fig, places = briefing_figure([1.0, 2.0], areas, context=ctx)
    assert [p.unit_id for p in places] == ["E02", "E01"]
    assert "not capped" in _texts(fig)  # two areas: a percentile cap would mean nothing


def test_bad_input_is_refused_in_one_line() -> None:
    grid, area = _square_grid()
    with pytest.raises(InputError, match=f"needs {grid.n_units} values"):
        briefing_figure(np.ones(3), grid, context=_context(area))
    with pytest.raises(InputError, match="finite and not negative"):
        briefing_figure(-np.ones(grid.n_units), grid, context=_context(area))
    with pytest.raises(InputError, match="timezone-aware"):
        _context(area, window_start=datetime(2020, 11, 1))
    with pytest.raises(InputError, match="does not overlap"):
        briefing_figure(
            np.ones(grid.n_units), grid, context=_context(shapely.box(-87.9, 41.6, -87.5, 42.0))
        )


def test_horizon_labels_and_data_sources() -> None:
    assert horizon_label(START, START + timedelta(days=7)) == "7 days"
    assert horizon_label(START, START + timedelta(hours=12)) == "12 hours"
    assert horizon_label(START, datetime(2020, 12, 1, tzinfo=UTC)) == "1 month"
    london = ZoneInfo("Europe/London")  # clocks go forward on 28 March 2021: 47 hours
    assert (
        horizon_label(datetime(2021, 3, 27, tzinfo=london), datetime(2021, 3, 29, tzinfo=london))
        == "2 days"
    )
    assert (
        horizon_label(datetime(2021, 3, 27, tzinfo=london), datetime(2021, 3, 29, 1, tzinfo=london))
        == "48 hours"
    )
    assert data_source_for("police-uk-street") is POLICE_UK
    assert data_source_for("incidents", "chicago") is CHICAGO
    unknown = data_source_for("incidents", "my-force")
    assert isinstance(unknown, DataSource) and "licence not recorded" in unknown.attribution


@pytest.mark.realdata
def test_city_of_london_map_is_the_square_mile_with_ward_names(
    city_forecast: tuple[Any, Any], shared_data: Path, tmp_path: Path
) -> None:
    study, forecast = city_forecast
    ctx = _context(study.study_area.geometry, shared_data=shared_data, dataset="col")
    fig, places = briefing_figure(forecast.expected_count, study.support, context=ctx)
    xmin, xmax = fig.axes[0].get_xlim()
    assert xmax - xmin < 6_000  # the Square Mile, not Greater London (about 50 km across)
    city_wards = {
        "Aldersgate",
        "Aldgate",
        "Bassishaw",
        "Billingsgate",
        "Bishopsgate",
        "Bread Street",
        "Bridge",
        "Broad Street",
        "Candlewick",
        "Castle Baynard",
        "Cheap",
        "Coleman Street",
        "Cordwainer",
        "Cornhill",
        "Cripplegate",
        "Dowgate",
        "Farringdon Within",
        "Farringdon Without",
        "Langbourn",
        "Lime Street",
        "Portsoken",
        "Queenhithe",
        "Tower",
        "Vintry",
        "Walbrook",
    }
    assert len(places) == 5 and all(p.name in city_wards for p in places)
    text = _texts(fig)
    assert sum(ward in text for ward in city_wards) >= 15  # ward names drawn on the map
    assert "London Datastore" in text and "Office for National Statistics" in text
    path = write_briefing_map(
        forecast.expected_count, study.support, tmp_path / "m" / "map.png", context=ctx
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.realdata
def test_chicago_map_stays_on_land_inside_the_city_limits(shared_data: Path) -> None:
    from patrolcast.geo.study_area import study_area_from_file

    limits = require(shared_data / "boundaries" / "us" / "chicago_city_limits.zip")
    city = study_area_from_file(limits, crs="EPSG:32616")
    grid = Grid.clipped_to(city, cell_size=1_000.0)
    values = np.arange(grid.n_units, dtype=float)
    ctx = _context(
        city.geometry,
        data=CHICAGO,
        shared_data=shared_data,
        timezone="America/Chicago",
        offences="aggravated assaults",
    )
    fig, places = briefing_figure(values, grid, context=ctx)
    xmin, xmax = fig.axes[0].get_xlim()
    ymin, ymax = fig.axes[0].get_ylim()
    cx0, cy0, cx1, cy1 = shapely.bounds(city.geometry)
    gx0, gy0, gx1, gy1 = support_bounds(grid)  # 1 km cells reach a little past the limits
    cx0, cy0, cx1, cy1 = min(cx0, gx0), min(cy0, gy0), max(cx1, gx1), max(cy1, gy1)
    # the view is those bounds plus a margin, widened only sideways to fit the page
    assert ymax - ymin == pytest.approx((cy1 - cy0) * 1.06, rel=0.01)
    assert (xmin + xmax) / 2 == pytest.approx((cx0 + cx1) / 2, abs=1.0)
    assert "City of Chicago Data Portal" in _texts(fig)
    assert places and all(p.name for p in places)  # named after community areas


def test_rank_numbers_of_crowded_places_move_apart() -> None:
    from matplotlib.figure import Figure

    from patrolcast.io._briefing_draw import label_offsets
    from patrolcast.io.briefing_map import TopPlace

    fig = Figure(figsize=(6, 4), dpi=150)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 30_000)
    ax.set_ylim(0, 20_000)
    same = [TopPlace(r, f"u{r}", "", 1.0, 10_000.0, 10_000.0) for r in (1, 2, 3)]
    apart = [TopPlace(1, "a", "", 1.0, 1_000.0, 1_000.0), TopPlace(2, "b", "", 1.0, 9e3, 9e3)]
    offsets = label_offsets(ax, same)
    assert offsets[0] == (0.0, 0.0) and len(set(offsets)) == 3  # the first stays on its place
    assert label_offsets(ax, apart) == [(0.0, 0.0), (0.0, 0.0)]
