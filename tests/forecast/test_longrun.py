"""The long-run forecaster: naive-all as a special case, slow decay, neighbourhood shrinkage."""

from __future__ import annotations

import numpy as np
import pytest

from patrolcast.events import EventSet
from patrolcast.forecast.longrun import LongRunForecaster
from patrolcast.forecast.naive import NaiveForecaster
from patrolcast.forecast.registry import make_forecaster
from tests.evaluate.synthetic import CRS, grid, hotspot_events

CUTOFF = 20_000.0


def _at(points: list[tuple[float, float, float]]) -> EventSet:
    """Events at (time, x, y), sorted by time."""
    pts = sorted(points)
    return EventSet.from_arrays(
        [p[0] for p in pts], [p[1] for p in pts], [p[2] for p in pts], crs=CRS
    )


def test_no_decay_and_no_mix_is_the_all_history_count() -> None:
    ev = hotspot_events(days=300)
    cutoff = float(ev.t.max()) + 0.5
    g = grid()
    mine = LongRunForecaster(half_life_days=None, mix=0.0).fit(ev, cutoff=cutoff)
    base = NaiveForecaster(lookback_days="all").fit(ev, cutoff=cutoff)
    a = mine.predict(g, cutoff, cutoff + 7.0)
    b = base.predict(g, cutoff, cutoff + 7.0)
    np.testing.assert_allclose(a.expected_count, b.expected_count, rtol=1e-12)
    np.testing.assert_allclose(a.expected_harm, b.expected_harm, rtol=1e-12)


def test_decay_ranks_a_recent_place_above_an_old_one_with_the_same_count() -> None:
    old = [(CUTOFF - 2000.0 + i, 125.0, 125.0) for i in range(5)]  # cell (0, 0), years ago
    new = [(CUTOFF - 30.0 + i, 1875.0, 1875.0) for i in range(5)]  # cell (7, 7), last month
    ev = _at(old + new)
    g = grid()
    c_old, c_new = g.assign(np.array([125.0, 1875.0]), np.array([125.0, 1875.0]))
    flat = LongRunForecaster(half_life_days=None, mix=0.0).fit(ev, cutoff=CUTOFF)
    fc = flat.predict(g, CUTOFF, CUTOFF + 7.0).expected_count
    assert fc[c_old] == pytest.approx(fc[c_new])
    decayed = LongRunForecaster(half_life_days=365.0, mix=0.0).fit(ev, cutoff=CUTOFF)
    fc = decayed.predict(g, CUTOFF, CUTOFF + 7.0).expected_count
    assert fc[c_new] > 10 * fc[c_old]


def test_neighbourhood_lifts_a_cell_among_busy_cells_and_terms_sum_to_the_forecast() -> None:
    g = grid()
    pts = []
    # a busy block of cells around (1000, 1000), the centre cell itself with 2 events
    for dx in (-250.0, 0.0, 250.0):
        for dy in (-250.0, 0.0, 250.0):
            k = 2 if dx == dy == 0.0 else 10
            pts += [(CUTOFF - 100.0 + i, 1125.0 + dx, 1125.0 + dy) for i in range(k)]
    # an isolated cell with 2 events in the quiet corner
    pts += [(CUTOFF - 50.0 + i, 1875.0, 125.0) for i in range(2)]
    ev = _at(pts)
    centre, lone = g.assign(np.array([1125.0, 1875.0]), np.array([1125.0, 125.0]))
    own = LongRunForecaster(half_life_days=None, mix=0.0).fit(ev, cutoff=CUTOFF)
    fc0 = own.predict(g, CUTOFF, CUTOFF + 7.0)
    assert fc0.expected_count[centre] == pytest.approx(fc0.expected_count[lone])
    mixed = LongRunForecaster(half_life_days=None, bandwidth=250.0, mix=0.5)
    fc = mixed.fit(ev, cutoff=CUTOFF).predict(g, CUTOFF, CUTOFF + 7.0)
    assert fc.expected_count[centre] > 2 * fc.expected_count[lone]
    total = fc.terms["own_history"] + fc.terms["neighbourhood"]
    np.testing.assert_allclose(total, fc.expected_count, rtol=1e-12)
    # shrinkage moves expectation around; it neither creates nor loses much of it
    assert fc.expected_count.sum() == pytest.approx(fc0.expected_count.sum(), rel=0.25)


def test_expected_total_is_the_long_run_rate_whatever_the_half_life() -> None:
    ev = hotspot_events(days=400, rate=6.0)  # stationary: 6 a day
    cutoff = float(ev.t.max()) + 0.01
    g = grid()
    for h in (None, 90.0, 730.0):
        fc = LongRunForecaster(half_life_days=h, mix=0.25).fit(ev, cutoff=cutoff)
        total = fc.predict(g, cutoff, cutoff + 7.0).expected_count.sum()
        assert total == pytest.approx(42.0, rel=0.15), h


@pytest.mark.parametrize(
    "params", [{"half_life_days": 0.0}, {"bandwidth": -1.0}, {"mix": 1.5}, {"mix": -0.1}]
)
def test_bad_parameters_are_refused(params: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        LongRunForecaster(**params).fit(hotspot_events(days=30), cutoff=19_031.0)


def test_registry_builds_it() -> None:
    model = make_forecaster("longrun", horizon_days=30.0, half_life_days=730.0)
    assert isinstance(model, LongRunForecaster)
    assert model.half_life_days == 730.0
