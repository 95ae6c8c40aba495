"""The model's cell-day zones of the alert backtest: the kernel core and the dense cell-days."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from patrolcast.evaluate.alert_backtest import CORE_SHARE, _score_cell_days, cell_day_zones
from patrolcast.forecast.alert import Alert, KnoxZone, serious_assault_alert
from patrolcast.forecast.etas import ETASForecaster
from patrolcast.forecast.simulate import ETASModel, simulate_etas
from patrolcast.geo.support import Grid

CRS = "EPSG:27700"
AREA = shapely.box(525000, 175000, 531000, 181000)
START = 18_000.0
ALERT_CONTEXT: dict = {}  # the model, grid and incident of the fixture, for the command's zone


@pytest.fixture(scope="module")
def alerts() -> tuple[Alert, Alert]:
    truth = ETASModel(mu=6.0, theta=(0.5,), omega=0.2, sigma=90.0, hotspots=6, hotspot_sd=900.0)
    events = simulate_etas(truth, AREA, days=300.0, seed=4, crs=CRS, start=START).events
    t = START + 300.0
    model = ETASForecaster(history_days=None, restarts=1).fit(events, cutoff=t)
    grid = Grid.covering(*shapely.bounds(AREA), cell_size=250.0, crs=CRS)
    i = int(np.argmax(events.t))
    kw = {"x": float(events.x[i]), "y": float(events.y[i]), "t": t, "days": 14, "top_events": 0}
    ALERT_CONTEXT.update(model=model, grid=grid, kw=kw)
    wide = serious_assault_alert(model, grid, min_ratio=0.0, max_cells=500, force="model", **kw)
    disc = KnoxZone(radius_m=400.0, days=14, alpha=1.0, basis="400 m for 14 days")
    fixed = serious_assault_alert(model, grid, force=disc, **kw)
    return wide, fixed


def test_the_core_is_the_smallest_set_holding_half_the_added_events(
    alerts: tuple[Alert, Alert],
) -> None:
    wide, fixed = alerts
    core = cell_day_zones(wide, fixed)["model_core"]
    added = np.array([c.added_by_day for c in wide.cells])
    cells = np.flatnonzero(core.any(axis=1))
    days = np.flatnonzero(core.any(axis=0))
    assert days.tolist() == list(range(days.size))  # the first days, contiguous
    # the core cells hold at least half of the incident's added events, one fewer would not
    by_cell = added.sum(axis=1)
    assert by_cell[cells].sum() >= CORE_SHARE * by_cell.sum()
    if cells.size > 1:
        assert by_cell[cells].sum() - by_cell[cells].min() < CORE_SHARE * by_cell.sum()
    assert by_cell[cells].min() >= np.delete(by_cell, cells).max()  # largest first
    # ... and the core days hold half of the core cells' added events, one day fewer would not
    per_day = added[cells].sum(axis=0)
    assert per_day[: days.size].sum() >= CORE_SHARE * per_day.sum()
    assert per_day[: days.size - 1].sum() < CORE_SHARE * per_day.sum()


def test_dense_cell_days_beat_the_fixed_discs_expected_density(
    alerts: tuple[Alert, Alert],
) -> None:
    wide, fixed = alerts
    dense = cell_day_zones(wide, fixed)["model_dense"]
    expected = np.array([c.expected_by_day for c in wide.cells])
    per_cell_day = sum(c.expected_total for c in fixed.cells) / (14 * len(fixed.cells))
    assert dense.any()
    assert np.all(expected[dense] > per_cell_day)
    added = np.array([c.added_by_day for c in wide.cells])
    bg = np.array([c.background_per_day for c in wide.cells])[:, None] * np.ones(dense.shape)
    left_out = ~dense & (expected > per_cell_day)  # dense enough, but barely raised
    assert np.all(added[left_out] < 0.02 * bg[left_out])
    # per cell, the expectations by day add up to the cell's total
    for c in wide.cells:
        assert sum(c.expected_by_day) == pytest.approx(c.expected_total, rel=1e-9)


def test_cell_day_scoring_counts_events_in_the_chosen_cell_days(
    alerts: tuple[Alert, Alert],
) -> None:
    wide, _ = alerts
    zone = np.zeros((len(wide.cells), wide.days), dtype=bool)
    zone[0, :3] = True  # first cell, days 0-2
    zone[1, 5] = True  # second cell, day 5
    u0, u1 = wide.cells[0].unit_index, wide.cells[1].unit_index
    cell = np.array([u0, u0, u0, u1, u1, u1, -1], dtype=np.int64)
    dt = np.array([0.5, 2.9, 3.1, 5.5, 4.9, 6.0, 1.0])  # in, in, out, in, out, out, out
    obs, bg, ex, n_cells, km2_days = _score_cell_days(wide, zone, cell, dt, 0.0625)
    assert obs == 3 and n_cells == 2 and km2_days == pytest.approx(4 * 0.0625)
    c0, c1 = wide.cells[0], wide.cells[1]
    assert bg == pytest.approx(3 * c0.background_per_day + c1.background_per_day)
    assert ex == pytest.approx(sum(c0.expected_by_day[:3]) + c1.expected_by_day[5])


def test_the_command_s_core_zone_is_the_backtest_s(alerts: tuple[Alert, Alert]) -> None:
    """``serious_assault_alert(shape="core")`` (what ``patrolcast alert --zone core`` issues)
    raises the cells and days the backtest scores as ``model_core``."""
    wide, fixed = alerts
    core = cell_day_zones(wide, fixed)["model_core"]
    cells = {wide.cells[i].unit_id for i in np.flatnonzero(core.any(axis=1))}
    n_days = int(core.any(axis=0).sum())
    model, grid = ALERT_CONTEXT["model"], ALERT_CONTEXT["grid"]
    issued = serious_assault_alert(model, grid, shape="core", force="model",
                                   **ALERT_CONTEXT["kw"])  # fmt: skip
    assert {c.unit_id for c in issued.cells} == cells
    assert issued.days == n_days and len(issued.cells[0].added_by_day) == n_days
    assert "kernel's core" in issued.rule["reason"]


def test_density_ratio_is_paired_over_alerts() -> None:
    from patrolcast.evaluate.alert_backtest import _Tally, density_ratio

    zone, base = _Tally(), _Tally()
    for o_zone, o_base in [(2, 1), (0, 1), (1, 1), (3, 4)]:
        zone.add(o_zone, 0.0, 0.0, 1, 1.0)
        base.add(o_base, 0.0, 0.0, 4, 2.0)
    rng = np.random.default_rng(0)
    got = density_ratio(zone, base, rng)
    assert got is not None
    assert got["ratio"] == pytest.approx((6 / 4) / (7 / 8))
    lo, hi = got["bootstrap_95"]
    assert lo <= got["ratio"] <= hi
    # a zone against itself: every paired replicate gives exactly 1
    same = density_ratio(base, base, rng)
    assert same is not None and same["bootstrap_95"] == [pytest.approx(1.0)] * 2
    assert not same["above_1"]


def test_a_disc_zone_holds_every_cell_it_meets_whatever_the_models_reach(
    alerts: tuple[Alert, Alert],
) -> None:
    """The 400 m disc's cells are every cell whose nearest point lies within 400 m, counted
    here over the whole grid, also for a model whose kernel reaches less far (corner cells
    have centres up to half a diagonal, 577 m, away)."""
    import copy

    model, grid, kw = ALERT_CONTEXT["model"], ALERT_CONTEXT["grid"], ALERT_CONTEXT["kw"]
    short = copy.copy(model)
    short.max_distance = 300.0
    disc = KnoxZone(radius_m=400.0, days=14, alpha=1.0, basis="400 m for 14 days")
    cent = grid.centroids
    gap_x = np.maximum(np.abs(cent[:, 0] - kw["x"]) - 125.0, 0.0)
    gap_y = np.maximum(np.abs(cent[:, 1] - kw["y"]) - 125.0, 0.0)
    want = set(np.asarray(grid.unit_ids)[np.hypot(gap_x, gap_y) <= 400.0].tolist())
    assert len(want) > 9  # a disc of 400 m meets more than the 3 x 3 block around the incident
    for m in (model, short):
        got = serious_assault_alert(m, grid, force=disc, **kw)
        assert {c.unit_id for c in got.cells} == want
