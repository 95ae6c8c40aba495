"""One conformance suite over every forecaster in the registry (the estimator contract).

Each entry of :data:`patrolcast.forecast.registry.FORECASTERS` is built for a one-week horizon and
checked for: clone, unfitted error, ``fit`` returning ``self``, determinism, shapes and
non-negativity on a grid and on areas, scaling with the window length, refusal of windows
before the cut-off and of a support in another CRS, and that nothing at or after the cut-off
leaks into a fit.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from patrolcast.errors import InputError
from patrolcast.events import EventSet
from patrolcast.forecast.base import Forecaster, NotFittedError
from patrolcast.forecast.registry import FORECASTERS
from patrolcast.geo.support import AreaSupport, Grid

CRS = "EPSG:27700"
X0, Y0 = 530_000.0, 180_000.0
SIDE = 4_000.0
CUTOFF = 20_000.0  # days since epoch (2024-10-04)
WEEK = 7.0
NAMES = sorted(FORECASTERS)


def _events(seed: int, start: float, end: float, per_day: int) -> EventSet:
    """Events at regular times (``per_day`` a day) and random places with two hotspots."""
    rng = np.random.default_rng(seed)
    t = np.arange(start, end, 1.0 / per_day)
    n = t.size
    hot = rng.random(n) < 0.5
    centre = np.where(rng.random(n) < 0.5, 1_000.0, 3_000.0)
    x = np.where(hot, centre + rng.normal(0, 200, n), rng.uniform(0, SIDE, n))
    y = np.where(hot, centre + rng.normal(0, 200, n), rng.uniform(0, SIDE, n))
    x, y = np.clip(x, 1, SIDE - 1) + X0, np.clip(y, 1, SIDE - 1) + Y0
    harm = rng.choice([1.0, 5.0, 100.0], size=n)
    return EventSet.from_arrays(t, x, y, crs=CRS, harm=harm, time_precision="minute")


@pytest.fixture(scope="module")
def history() -> EventSet:
    return _events(1, CUTOFF - 200.0, CUTOFF, per_day=12)


@pytest.fixture(scope="module")
def grid() -> Grid:
    g = Grid.covering(X0, Y0, X0 + SIDE, Y0 + SIDE, cell_size=250.0, crs=CRS)
    active = g.active.copy()
    active[:3, :3] = False  # a clipped corner
    return Grid(g.x0, g.y0, g.cell_size, g.nx, g.ny, CRS, active)


@pytest.fixture(scope="module")
def areas() -> AreaSupport:
    boxes, ids = [], []
    for i in range(4):
        for j in range(4):
            boxes.append(
                shapely.box(X0 + i * 1000, Y0 + j * 1000, X0 + (i + 1) * 1000, Y0 + (j + 1) * 1000)
            )
            ids.append(f"A{i}{j}")
    return AreaSupport(tuple(ids), tuple(ids), tuple(boxes), CRS, level="test")


def _make(name: str) -> Forecaster:
    return FORECASTERS[name](horizon_days=WEEK)


_FITTED: dict[str, Forecaster] = {}


def _fitted(name: str, history: EventSet) -> Forecaster:
    """One fit per method on the shared history, reused by the read-only checks (fits can be
    slow: ETAS runs expectation-maximisation)."""
    if name not in _FITTED:
        model = _make(name)
        assert model.fit(history, cutoff=CUTOFF) is model
        _FITTED[name] = model
    return _FITTED[name]


@pytest.mark.parametrize("name", NAMES)
def test_clone_is_unfitted_copy_with_same_params(name: str, history: EventSet) -> None:
    model = _fitted(name, history)
    twin = model.clone()
    assert twin is not model
    assert type(twin) is type(model)
    assert twin.get_params() == model.get_params()
    with pytest.raises(NotFittedError):
        twin.predict(Grid.covering(X0, Y0, X0 + 500, Y0 + 500, crs=CRS), CUTOFF, CUTOFF + WEEK)


@pytest.mark.parametrize("name", NAMES)
def test_predict_before_fit_raises(name: str, grid: Grid) -> None:
    with pytest.raises(NotFittedError):
        _make(name).predict(grid, CUTOFF, CUTOFF + WEEK)


@pytest.mark.parametrize("name", NAMES)
def test_fit_returns_self_and_records_cutoff(name: str, history: EventSet) -> None:
    model = _fitted(name, history)  # asserts fit returned self
    assert model.cutoff_ == CUTOFF


@pytest.mark.parametrize("name", NAMES)
def test_deterministic(name: str, history: EventSet, grid: Grid) -> None:
    a = _fitted(name, history).predict(grid, CUTOFF, CUTOFF + WEEK)
    b = _make(name).fit(history, cutoff=CUTOFF).predict(grid, CUTOFF, CUTOFF + WEEK)
    np.testing.assert_array_equal(a.expected_count, b.expected_count)
    np.testing.assert_array_equal(a.expected_harm, b.expected_harm)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("support_name", ["grid", "areas"])
def test_shape_and_non_negative(
    name: str, support_name: str, history: EventSet, request: pytest.FixtureRequest
) -> None:
    support = request.getfixturevalue(support_name)
    fc = _fitted(name, history).predict(support, CUTOFF, CUTOFF + WEEK)
    assert fc.unit_ids == support.unit_ids
    for values in (fc.expected_count, fc.expected_harm):
        assert values.shape == (support.n_units,)
        assert np.all(np.isfinite(values))
        assert np.all(values >= 0)
    assert fc.expected_count.sum() > 0
    # harm follows counts: where events are expected, so is harm (every weight is >= 1)
    busy = fc.expected_count > 1e-6 * fc.expected_count.max()
    assert np.all(fc.expected_harm[busy] > 0)
    # the forecast concentrates on the two hotspots rather than being flat
    if support_name == "grid":
        assert fc.expected_count.max() > 3 * fc.expected_count.mean()


@pytest.mark.parametrize("name", NAMES)
def test_total_scales_with_window_length(name: str, history: EventSet, grid: Grid) -> None:
    model = _fitted(name, history)
    one = model.predict(grid, CUTOFF, CUTOFF + WEEK).expected_count.sum()
    two = model.predict(grid, CUTOFF, CUTOFF + 2 * WEEK).expected_count.sum()
    # stationary synthetic history (12 events a day, every day): doubling the window doubles
    # the expected total, within the noise of a fitted model
    assert 1.8 < two / one < 2.2


@pytest.mark.parametrize("name", NAMES)
def test_window_before_cutoff_refused(name: str, history: EventSet, grid: Grid) -> None:
    model = _fitted(name, history)
    with pytest.raises(ValueError, match="before the fit cut-off"):
        model.predict(grid, CUTOFF - 3, CUTOFF + WEEK)


@pytest.mark.parametrize("name", NAMES)
def test_other_crs_refused(name: str, history: EventSet) -> None:
    model = _fitted(name, history)
    utm = Grid.covering(X0, Y0, X0 + SIDE, Y0 + SIDE, cell_size=250.0, crs="EPSG:32630")
    with pytest.raises(ValueError, match="CRS"):
        model.predict(utm, CUTOFF, CUTOFF + WEEK)


def _concat(a: EventSet, b: EventSet) -> EventSet:
    return EventSet.from_arrays(
        np.concatenate([a.t, b.t]),
        np.concatenate([a.x, b.x]),
        np.concatenate([a.y, b.y]),
        crs=a.crs,
        count=np.concatenate([a.count, b.count]),
        harm=np.concatenate([a.harm, b.harm]),
        time_precision=a.time_precision,
    )


@pytest.mark.parametrize("name", NAMES)
def test_no_leakage_after_cutoff(
    name: str, history: EventSet, grid: Grid, areas: AreaSupport
) -> None:
    future = _events(2, CUTOFF, CUTOFF + 30.0, per_day=40)  # starts exactly at the cut-off
    assert future.t.min() == CUTOFF
    both = _concat(history, future)
    clean = _fitted(name, history)
    leaky = _make(name).fit(both, cutoff=CUTOFF)
    for support in (grid, areas):
        a = clean.predict(support, CUTOFF, CUTOFF + WEEK)
        b = leaky.predict(support, CUTOFF, CUTOFF + WEEK)
        np.testing.assert_array_equal(a.expected_count, b.expected_count)
        np.testing.assert_array_equal(a.expected_harm, b.expected_harm)


@pytest.mark.parametrize("name", NAMES)
def test_empty_history_gives_zero_or_clear_error(name: str, grid: Grid) -> None:
    later = _events(3, CUTOFF, CUTOFF + 10.0, per_day=5)
    model = _make(name)
    try:
        fc = model.fit(later, cutoff=CUTOFF).predict(grid, CUTOFF, CUTOFF + WEEK)
    except (InputError, ValueError) as exc:  # a model may refuse to fit nothing, clearly
        assert str(exc)
        return
    assert np.all(np.isfinite(fc.expected_count)) and np.all(fc.expected_count >= 0)


def test_registry_builds_with_overrides_and_refuses_unknowns() -> None:
    from patrolcast.forecast.registry import make_forecaster

    assert {"naive", "kde", "prospective"} <= set(FORECASTERS)
    kde = make_forecaster("kde", horizon_days=30.0, bandwidth=200.0)
    assert kde.get_params()["bandwidth"] == 200.0
    # defaults follow the horizon: a monthly KDE looks back further than a weekly one
    weekly = make_forecaster("kde", horizon_days=7.0).get_params()["lookback_days"]
    monthly = make_forecaster("kde", horizon_days=30.0).get_params()["lookback_days"]
    assert monthly > weekly
    with pytest.raises(InputError, match="unknown forecasting method"):
        make_forecaster("crystal-ball")
    with pytest.raises(InputError, match="no parameter"):
        make_forecaster("naive", bandwidth=3.0)
