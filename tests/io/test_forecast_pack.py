"""The one-page forecast briefing pack, printed from a real City of London forecast."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from pypdf import PdfReader

from patrolcast.errors import InputError
from patrolcast.geo.support import Grid
from patrolcast.io.briefing_map import (
    POLICE_UK,
    BriefingContext,
    map_layers,
    top_places,
    write_briefing_map,
)
from patrolcast.io.forecast_pack import poisson_range, write_forecast_pack
from tests.io.conftest import START


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


def _text(pdf: Path) -> tuple[int, str]:
    reader = PdfReader(pdf)
    text = " ".join(page.extract_text() for page in reader.pages)
    return len(reader.pages), " ".join(text.split())


def test_poisson_range_is_the_central_90_percent() -> None:
    assert poisson_range(10.0) == (5, 15)  # Poisson(10): P(X <= 4) < 5% <= P(X <= 5), ...
    assert poisson_range(0.0) == (0, 0)


@pytest.mark.realdata
def test_city_of_london_pack_is_one_page_with_map_numbers_evidence_and_caveats(
    city_forecast: tuple[Any, Any], shared_data: Path, tmp_path: Path
) -> None:
    study, forecast = city_forecast
    ctx = _context(
        study.study_area.geometry,
        shared_data=shared_data,
        dataset="col",
        marking="OFFICIAL - SENSITIVE",
        notes=("<script>alert('x')</script> in a warning",),
    )
    values = forecast.expected_count
    png = write_briefing_map(values, study.support, tmp_path / "map.png", context=ctx)
    pdf = write_forecast_pack(
        tmp_path / "pack.pdf",
        map_png=png,
        values=values,
        support=study.support,
        context=ctx,
        expected_total=float(values.sum()),
        evidence=[("events in the history used", "1,234")],
    )
    pages, text = _text(pdf)
    assert pages == 1
    assert len(PdfReader(pdf).pages[0].images) == 1  # the map, embedded
    assert text.count("OFFICIAL - SENSITIVE") == 2
    assert "expected violent offences per 250 m cell, 7 days" in text
    for place in top_places(values, study.support, 5, map_layers(study.support, ctx)):
        assert place.name and place.name in text and place.unit_id in text
    assert f"{float(values.sum()):.2f}" in text
    assert "events in the history used 1,234" in text
    assert "No backtest figures were given" in text
    assert "uncertainty of the rate itself is not included" in text
    assert "Month precision" in text and "Anonymised locations" in text
    assert "<script>alert('x')</script> in a warning" in text  # printed as text, not run
    assert "Contains OS data © Crown copyright and database right" in text
    assert "Created 2026-01-02 03:04 UTC with patrolcast" in text


def test_pack_with_backtest_and_forecast_intervals(tmp_path: Path) -> None:
    area = shapely.box(0, 0, 1000, 1000)
    grid = Grid.clipped_to(area, cell_size=250.0, crs="EPSG:27700")
    values = np.arange(grid.n_units, dtype=float)
    ctx = _context(area, top_n=3)
    png = write_briefing_map(values, grid, tmp_path / "m.png", context=ctx)
    low, high = values * 0.5, values * 2.0
    pdf = write_forecast_pack(
        tmp_path / "p.pdf",
        map_png=png,
        values=values,
        support=grid,
        context=ctx,
        intervals=(low, high),
        backtest=[("hit rate, top 5% of area", "0.31 (0.27 to 0.35)")],
    )
    _, text = _text(pdf)
    assert "hit rate, top 5% of area 0.31 (0.27 to 0.35)" in text
    assert "No backtest figures" not in text
    assert "the forecast's own interval" in text
    assert "7.50 to 30" in text  # the top cell (15): 7.5 to 30
    with pytest.raises(InputError, match="one per unit"):
        write_forecast_pack(
            tmp_path / "q.pdf",
            map_png=png,
            values=values,
            support=grid,
            context=ctx,
            intervals=(low[:2], high[:2]),
        )
