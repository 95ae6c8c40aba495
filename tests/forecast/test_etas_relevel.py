"""Background re-levelling when a fitted model is conditioned on later events."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from patrolcast.events import EventSet
from patrolcast.forecast.etas import ETASForecaster
from patrolcast.forecast.simulate import ETASModel, simulate_etas
from patrolcast.geo.support import Grid

CRS = "EPSG:27700"
AREA = shapely.box(525000, 175000, 531000, 181000)
START = 18_000.0


@pytest.fixture(scope="module")
def events() -> EventSet:
    model = ETASModel(mu=6.0, theta=(0.3,), omega=0.3, sigma=80.0, hotspots=6)
    return simulate_etas(model, AREA, days=400.0, seed=8, crs=CRS, start=START).events


@pytest.fixture(scope="module")
def fitted(events: EventSet) -> ETASForecaster:
    return ETASForecaster(history_days=300.0, restarts=1).fit(events, cutoff=START + 300.0)


def test_a_steady_rate_leaves_the_level_about_where_it_was(
    fitted: ETASForecaster, events: EventSet
) -> None:
    cond = fitted.conditioned_on(events, until=START + 328.0, relevel_days=28.0)
    assert 0.8 < cond.level_scale_ < 1.25
    assert fitted.level_scale_ == 1.0  # the fitted model is left untouched
    assert fitted.conditioned_on(events, until=START + 328.0).level_scale_ == 1.0


def test_a_doubled_rate_doubles_the_background(fitted: ETASForecaster, events: EventSet) -> None:
    c = fitted.cutoff_
    late = events.select((events.t >= c) & (events.t < c + 28.0))
    shift = 300.0  # a second copy of the four weeks, 300 m away: twice the incidents
    doubled = EventSet.from_arrays(
        np.concatenate([events.t, late.t + 0.01]), np.concatenate([events.x, late.x + shift]),
        np.concatenate([events.y, late.y]), crs=CRS,
    )  # fmt: skip
    steady = fitted.conditioned_on(events, until=c + 28.0, relevel_days=28.0)
    surge = fitted.conditioned_on(doubled, until=c + 28.0, relevel_days=28.0)
    assert surge.level_scale_ / steady.level_scale_ == pytest.approx(2.0, rel=0.15)
    grid = Grid.covering(*shapely.bounds(AREA), cell_size=250.0, crs=CRS)
    a = steady.predict(grid, c + 28.0, c + 35.0).terms["background"].sum()
    b = surge.predict(grid, c + 28.0, c + 35.0).terms["background"].sum()
    assert b / a == pytest.approx(surge.level_scale_ / steady.level_scale_, rel=1e-9)
    with pytest.raises(ValueError, match="relevel_days"):
        fitted.conditioned_on(events, until=c + 1.0, relevel_days=0.0)
