"""Month-precision records stand for a whole calendar month: a cut-off inside a month must not
let that month's record (which holds events after the cut-off) into a fit."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from patrolcast.events import EventSet, to_days
from patrolcast.forecast.registry import FORECASTERS
from patrolcast.geo.support import Grid

CRS = "EPSG:27700"


def day(y: int, m: int, d: int) -> float:
    return to_days(datetime(y, m, d, tzinfo=UTC))


def month_events(with_march: bool) -> EventSet:
    # February: 4 offences in cell (0, 0); March (a record dated 1 March covering the whole
    # month, i.e. also after a 15 March cut-off): 50 offences in cell (1, 1).
    t = [day(2024, 2, 1)] + ([day(2024, 3, 1)] if with_march else [])
    x = [100.0] + ([700.0] if with_march else [])
    c = [4.0] + ([50.0] if with_march else [])
    return EventSet.from_arrays(t, x, x, crs=CRS, count=c, time_precision="month")


@pytest.mark.parametrize("name", ["naive", "kde", "prospective"])
def test_mid_month_cutoff_ignores_the_unfinished_month(name: str) -> None:
    grid = Grid.covering(0, 0, 999, 999, cell_size=500.0, crs=CRS)
    cutoff = day(2024, 3, 15)
    fcs = [
        FORECASTERS[name](horizon_days=7.0)
        .fit(month_events(with_march), cutoff=cutoff)
        .predict(grid, cutoff, cutoff + 7.0)
        .expected_count
        for with_march in (False, True)
    ]
    np.testing.assert_allclose(fcs[1], fcs[0], rtol=1e-12, atol=1e-12)


def test_naive_mid_month_uses_last_complete_month() -> None:
    grid = Grid.covering(0, 0, 999, 999, cell_size=500.0, crs=CRS)
    cutoff = day(2024, 3, 15)
    fc = FORECASTERS["naive"](horizon_days=7.0).fit(month_events(True), cutoff=cutoff)
    got = fc.predict(grid, cutoff, cutoff + 7.0).expected_count
    # February (29 days in 2024) held 4 offences in cell 0: 4 * 7 / 29 expected in a week.
    np.testing.assert_allclose(got, [4 * 7 / 29, 0, 0, 0])
