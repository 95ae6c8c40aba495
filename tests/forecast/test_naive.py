"""The naive (last period) forecaster, against hand-computed counts."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
import shapely

from patrolcast.events import EventSet, to_days
from patrolcast.forecast.naive import NaiveForecaster, lookback_start
from patrolcast.geo.support import AreaSupport, Grid

CRS = "EPSG:27700"


def day(y: int, m: int, d: int) -> float:
    return to_days(datetime(y, m, d, tzinfo=UTC))


@pytest.fixture()
def grid() -> Grid:
    return Grid.covering(0, 0, 999, 999, cell_size=500.0, crs=CRS)  # 2 x 2 cells


def test_counts_last_period_of_window_length(grid: Grid) -> None:
    cutoff = 100.0
    # cell (0,0): 2 events in the last 7 days, 1 older; cell (1,1): 1 in the last 7 days
    ev = EventSet.from_arrays(
        [95.0, 99.5, 90.0, 93.5, 100.0],
        [100, 200, 300, 700, 100],
        [100, 200, 300, 700, 100],
        crs=CRS,
        harm=[1.0, 10.0, 5.0, 2.0, 99.0],
    )
    fc = NaiveForecaster().fit(ev, cutoff=cutoff).predict(grid, cutoff, cutoff + 7)
    # unit order: row-major from the lower left: (0,0), (0,1), (1,0), (1,1)
    np.testing.assert_array_equal(fc.expected_count, [2, 0, 0, 1])
    np.testing.assert_array_equal(fc.expected_harm, [11, 0, 0, 2])
    # a 14-day window looks back 14 days: the older event counts too
    fc14 = NaiveForecaster().fit(ev, cutoff=cutoff).predict(grid, cutoff, cutoff + 14)
    np.testing.assert_array_equal(fc14.expected_count, [3, 0, 0, 1])


def test_fixed_lookback_scales_to_window(grid: Grid) -> None:
    ev = EventSet.from_arrays([73.0, 80.0, 99.0, 50.0], [10] * 4, [10] * 4, crs=CRS)
    model = NaiveForecaster(lookback_days=28).fit(ev, cutoff=100.0)
    fc = model.predict(grid, 100.0, 107.0)
    assert fc.expected_count[0] == pytest.approx(3 * 7 / 28)
    assert fc.params == {"lookback_days": 28}


def test_area_support(grid: Grid) -> None:
    areas = AreaSupport(
        ("W", "E"),
        ("west", "east"),
        (shapely.box(0, 0, 500, 1000), shapely.box(500, 0, 1000, 1000)),
        CRS,
    )
    ev = EventSet.from_arrays([1.0, 2.0, 3.0], [100, 600, 900], [100, 100, 900], crs=CRS)
    fc = NaiveForecaster().fit(ev, cutoff=5.0).predict(areas, 5.0, 12.0)
    np.testing.assert_array_equal(fc.expected_count, [1, 2])


def test_month_precision_uses_whole_months(grid: Grid) -> None:
    # monthly records sit on the month's first day; a March forecast uses February (2024: 29 d)
    t = [day(2024, 1, 1), day(2024, 2, 1), day(2024, 2, 1)]
    ev = EventSet.from_arrays(
        t, [10] * 3, [10] * 3, crs=CRS, count=[7, 4, 1], time_precision="month"
    )
    cutoff = day(2024, 3, 1)
    fc = NaiveForecaster().fit(ev, cutoff=cutoff).predict(grid, cutoff, day(2024, 4, 1))
    assert fc.expected_count[0] == pytest.approx(5 * 31 / 29)


@pytest.mark.parametrize(
    ("cutoff", "days", "expected"),
    [
        ((2024, 3, 1), 31, (2024, 2, 1)),  # 29 Jan is nearer 1 Feb than 1 Jan
        ((2024, 3, 1), 28, (2024, 2, 1)),
        ((2024, 3, 1), 60, (2024, 1, 1)),
        ((2024, 3, 1), 3, (2024, 2, 1)),  # never less than one whole month
        ((2024, 3, 15), 31, (2024, 2, 1)),
    ],
)
def test_lookback_start_for_months(cutoff: tuple, days: float, expected: tuple) -> None:
    assert lookback_start(day(*cutoff), days, "month") == day(*expected)
    assert lookback_start(day(*cutoff), days, "day") == day(*cutoff) - days


def test_bad_lookback_refused(grid: Grid) -> None:
    ev = EventSet.from_arrays([1.0], [1.0], [1.0], crs=CRS)
    with pytest.raises(ValueError, match="lookback_days"):
        NaiveForecaster(lookback_days=0).fit(ev, cutoff=2.0)
