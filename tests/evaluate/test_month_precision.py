"""A backtest of month-precision data needs month horizons: week windows cannot be scored."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from patrolcast.errors import InputError
from patrolcast.evaluate.backtest import run_backtest
from patrolcast.evaluate.splitters import RollingOrigin, parse_period
from patrolcast.events import EventSet, to_days
from patrolcast.forecast.naive import NaiveForecaster
from patrolcast.geo.support import Grid

CRS = "EPSG:27700"


def test_week_horizon_on_month_records_is_refused() -> None:
    months = [to_days(datetime(2024, m, 1, tzinfo=UTC)) for m in range(1, 13)]
    ev = EventSet.from_arrays(
        months, [100.0] * 12, [100.0] * 12, crs=CRS, count=[5.0] * 12, time_precision="month"
    )
    grid = Grid.covering(0, 0, 999, 999, cell_size=500.0, crs=CRS)
    splitter = RollingOrigin(horizon=parse_period("1w"), n_origins=4)
    # Week windows of month records: most windows hold no record, the one holding the 1st
    # holds a whole month of offences. That must be refused, not scored.
    with pytest.raises(InputError, match="month"):
        run_backtest(ev, grid, {"naive": NaiveForecaster()}, splitter)
