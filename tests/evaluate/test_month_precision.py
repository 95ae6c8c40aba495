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


def test_report_states_events_outside_the_support(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from patrolcast.evaluate.report import write_report
    from tests.evaluate.synthetic import CountsForecaster, hotspot_events

    # the western half of the synthetic square only: events in the east are not scored
    west = Grid.covering(0, 0, 999.9, 1999.9, cell_size=250.0, crs=CRS)
    ev = hotspot_events()
    split = RollingOrigin(horizon=parse_period("7d"), n_origins=3)
    result = run_backtest(ev, west, {"counts": CountsForecaster()}, split)
    outside = result.meta["n_events_outside_support"]
    assert outside > 0
    md = write_report(result, tmp_path, name="b")["md"].read_text(encoding="utf-8")
    assert f"{outside:,.0f} events in the scoring windows fell outside every unit" in md
