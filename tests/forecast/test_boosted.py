"""The boosted forecaster: learns long-run hotspots and a recent burst, and explains each unit."""

from __future__ import annotations

import numpy as np

from patrolcast.events import EventSet
from patrolcast.forecast.boosted import BoostedForecaster
from patrolcast.forecast.registry import make_forecaster
from tests.evaluate.synthetic import grid, hotspot_events


def _with_burst() -> tuple[EventSet, float]:
    ev = hotspot_events(days=400, rate=6.0)
    cutoff = float(ev.t.max()) + 0.01
    # a burst of 12 events in a quiet cell (around 1800, 200) over the last three days
    t = cutoff - np.linspace(0.1, 3.0, 12)
    burst = EventSet.from_arrays(
        np.r_[ev.t, t], np.r_[ev.x, np.full(12, 1_810.0)], np.r_[ev.y, np.full(12, 190.0)],
        crs=ev.crs,
    )
    return burst, cutoff


def test_boosted_finds_the_hotspots_and_explains_them() -> None:
    events, cutoff = _with_burst()
    g = grid()
    model = make_forecaster("boosted", horizon_days=7.0)
    assert isinstance(model, BoostedForecaster)
    fc = model.fit(events, cutoff=cutoff).predict(g, cutoff, cutoff + 7.0)
    hot = g.assign(np.array([625.0, 1375.0]), np.array([625.0, 1375.0]))
    top2 = set(np.argsort(-fc.expected_count)[:2].tolist())
    assert top2 == set(hot.tolist())
    assert set(fc.terms) == {"raised_by_long_run", "raised_by_recent", "raised_by_seasonal"}
    # what raised the hot cells is their long-run history
    assert (fc.terms["raised_by_long_run"][hot] > 0).all()
    # the expected total is of the order of the recent weekly count (6 a day)
    assert 20.0 < fc.expected_count.sum() < 90.0


def test_a_recent_burst_is_explained_by_the_recent_terms() -> None:
    events, cutoff = _with_burst()
    g = grid()
    fc = make_forecaster("boosted").fit(events, cutoff=cutoff).predict(g, cutoff, cutoff + 7.0)
    cell = int(g.assign(np.array([1_810.0]), np.array([190.0]))[0])
    assert fc.expected_count[cell] > np.median(fc.expected_count)
    assert fc.expected_harm.shape == fc.expected_count.shape
