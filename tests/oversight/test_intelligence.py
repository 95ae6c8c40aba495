"""Grading, intelligence items and the uplift, against hand-computed values."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from patrolcast.errors import InputError
from patrolcast.events import to_days
from patrolcast.forecast.base import Forecast
from patrolcast.geo.support import Grid
from patrolcast.oversight.grading import Grading, load_weights
from patrolcast.oversight.intelligence import (
    IntelligenceItem,
    Place,
    intelligence_picture,
    uplift,
)
from patrolcast.oversight.pii import PersonalDataRefused

T0 = datetime(2025, 6, 1, tzinfo=UTC)


def _item(grading: str = "1A P", *, place: Place | None = None, days: float = 10.0,
          summary: str = "Serious violence likely near the market") -> IntelligenceItem:
    return IntelligenceItem(
        item_id="I1",
        place=place or Place(x=150.0, y=150.0, radius_m=50.0),
        start=T0,
        end=T0 + timedelta(days=days),
        grading=Grading.parse(grading),
        owner="Borough intelligence unit",
        retain_until=T0 + timedelta(days=90),
        summary=summary,
    )


@pytest.mark.parametrize("text", ["1A P", "1-A-P", "1ap", " 3 e c "])
def test_grading_parses(text: str) -> None:
    g = Grading.parse(text)
    assert str(g)[0] in "123" and str(g)[1] in "ABCDE" and str(g)[-1] in "PC"


@pytest.mark.parametrize("text", ["4A P", "1F P", "1A X", "", "AAA"])
def test_bad_grading_refused(text: str) -> None:
    with pytest.raises(InputError, match="3x5x2"):
        Grading.parse(text)


def test_weights_from_the_file() -> None:
    w = load_weights()
    assert w.weight(Grading.parse("1A P")) == 1.0
    assert w.weight(Grading.parse("2B C")) == pytest.approx(0.5 * 0.75)
    assert w.weight(Grading.parse("3E P")) == 0.0
    # handling governs sharing, not credibility
    assert w.weight(Grading.parse("2C P")) == w.weight(Grading.parse("2C C"))


def test_decay_hand_computed() -> None:
    item = _item(days=10.0)
    a = to_days(T0)
    f = load_weights().end_fraction
    # whole window: the mean of a line from 1 to f
    assert item.decay(a, a + 10) == pytest.approx((1 + f) / 2)
    # second half of the window, query twice as long as the overlap
    mid = 1 - (1 - f) * 0.5
    assert item.decay(a + 5, a + 15) == pytest.approx((mid + f) / 2 * 5 / 10)
    assert item.decay(a + 10, a + 20) == 0.0
    assert item.decay(a - 5, a) == 0.0


def test_uplift_covers_the_circle_share_of_a_cell() -> None:
    grid = Grid.covering(0, 0, 399, 399, cell_size=100.0, crs="EPSG:27700")
    item = _item("2B P")  # centred on the centre of cell (1, 1), radius 50 m
    a = to_days(T0)
    values, contributors = uplift([item], grid, a, a + 10)
    centre = grid.assign([150.0], [150.0])[0]
    expected = 0.375 * (1 + load_weights().end_fraction) / 2 * math.pi * 50**2 / 100**2
    assert values[centre] == pytest.approx(expected, rel=1e-3)
    assert np.count_nonzero(values) == 1
    assert contributors[centre] == ["I1"]


def test_e_graded_item_adds_nothing() -> None:
    grid = Grid.covering(0, 0, 399, 399, cell_size=100.0, crs="EPSG:27700")
    a = to_days(T0)
    values, _ = uplift([_item("3E P")], grid, a, a + 10)
    assert not values.any()


def test_picture_keeps_forecast_and_uplift_apart() -> None:
    grid = Grid.covering(0, 0, 399, 399, cell_size=100.0, crs="EPSG:27700")
    a = to_days(T0)
    harm = np.arange(grid.n_units, dtype=float)
    fc = Forecast("naive", {}, grid.unit_ids, a, a + 7, harm.copy(), harm.copy())
    cells = Place(cells=(grid.unit_ids[0], grid.unit_ids[1]))
    pic = intelligence_picture(fc, [_item("1A P", place=cells)], grid)
    frame = pic.to_frame()
    np.testing.assert_array_equal(frame["forecast_expected_harm"].to_numpy(), harm)
    assert frame.loc[0, "intelligence_uplift"] > 0
    assert frame.loc[0, "forecast_rank"] == grid.n_units  # lowest forecast, highest uplift
    assert frame.loc[0, "intelligence_rank"] == 1
    assert frame["intelligence_rank"].isna().sum() == grid.n_units - 2
    assert "combined" not in " ".join(frame.columns)


def test_item_refuses_personal_data_and_bad_places() -> None:
    with pytest.raises(PersonalDataRefused):
        _item(summary="Mr Smith will be carrying")
    with pytest.raises(InputError, match="exceeds"):
        _item(place=Place(x=0.0, y=0.0, radius_m=5000.0))
    with pytest.raises(InputError, match="exactly one"):
        Place(x=0.0, y=0.0, radius_m=10.0, cells=("E0N0",))
    with pytest.raises(InputError, match="WKT"):
        Place(polygon_wkt="POLYGON ((0 0, 1")
    # Cell ids are codes: no name, phone number or registration can ride in them.
    with pytest.raises(InputError, match="not a cell code"):
        Place(cells=("E530000N175000", "Mr Smith"))
    for smuggled in ("07700900123", "AB12CDE"):
        with pytest.raises(PersonalDataRefused):
            Place(cells=(smuggled,))
    assert Place(cells=("E530000N175000", "E01000001")).cells == ("E530000N175000", "E01000001")
    with pytest.raises(InputError, match="timezone"):
        IntelligenceItem("I2", Place(cells=("a",)), datetime(2025, 1, 1), T0,
                         Grading.parse("1A P"), "desk", T0 + timedelta(days=1))


def test_polygon_place_and_expiry() -> None:
    grid = Grid.covering(0, 0, 399, 399, cell_size=100.0, crs="EPSG:27700")
    item = _item(place=Place(polygon_wkt="POLYGON ((0 0, 200 0, 200 100, 0 100, 0 0))"))
    a = to_days(T0)
    values, _ = uplift([item], grid, a, a + 10)
    assert np.count_nonzero(values) == 2
    assert not item.is_expired(T0 + timedelta(days=89))
    assert item.is_expired(T0 + timedelta(days=90))
