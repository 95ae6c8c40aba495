"""Metrics against cases computed by hand (the arithmetic is written out in each test)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patrolcast.evaluate.metrics import (
    flag_area,
    flagged_overlap,
    hit_rate,
    pai,
    pei_star,
    poisson_deviance,
    recapture_rate_index,
    reliability_table,
    score_area_fractions,
)


def test_equal_cells_whole_units() -> None:
    # 10 equal cells; flag 20% = the top 2 by score: cells 3 (9.0) and 7 (8.0).
    score = [1, 2, 3, 9, 0, 0, 4, 8, 0, 0]
    observed = [0, 1, 0, 3, 0, 0, 2, 1, 1, 2]  # 10 events
    (s,) = score_area_fractions(score, observed, None, fractions=[0.2])
    # caught = 3 + 1 = 4 of 10 -> hit rate 0.4, PAI = 0.4 / 0.2 = 2.
    assert s.hit_rate == pytest.approx(0.4)
    assert s.pai == pytest.approx(2.0)
    # Best two cells in hindsight: cell 3 (3 events) + one of the 2-event cells = 5.
    assert s.pei_star == pytest.approx(4 / 5)


def test_partial_last_cell() -> None:
    # 4 equal cells, flag 30% = 1.2 cells: cell 0 whole, cell 2 at weight 0.2.
    w = flag_area([10, 1, 5, 0], None, 0.3)
    assert w.tolist() == pytest.approx([1.0, 0.0, 0.2, 0.0])
    observed = [2, 0, 5, 3]  # caught = 2 + 0.2 * 5 = 3 of 10
    assert hit_rate(w, observed) == pytest.approx(0.3)
    # Best 1.2 cells by observed density: cell 2 (5) + 0.2 of cell 3 (0.6) = 5.6.
    assert pei_star(w, observed, None) == pytest.approx(3 / 5.6)


def test_unequal_areas_rank_by_density() -> None:
    # Areas 1, 4, 2, 3 (total 10). Scores 2, 4, 3, 0.3 -> densities 2, 1, 1.5, 0.1.
    # Flag 40% = 4 units of area: unit 0 (area 1), unit 2 (area 2), then 1 of unit 1's 4.
    area = [1.0, 4.0, 2.0, 3.0]
    w = flag_area([2.0, 4.0, 3.0, 0.3], area, 0.4)
    assert w.tolist() == pytest.approx([1.0, 0.25, 1.0, 0.0])
    assert float(np.dot(w, area)) == pytest.approx(4.0)
    observed = [1, 8, 0, 1]  # caught = 1 + 0.25 * 8 + 0 = 3 of 10
    assert hit_rate(w, observed) == pytest.approx(0.3)
    assert pai(0.3, 0.4) == pytest.approx(0.75)
    # Hindsight: observed densities 1, 2, 0, 1/3 -> all of unit 1 (area 4, 8 events) = 8.
    assert pei_star(w, observed, area) == pytest.approx(3 / 8)


def test_ties_share_the_boundary_equally() -> None:
    # Cell 0 is top; cells 1, 2, 3 tie. Flag 50% of 4 cells = cell 0 + 1 more cell of the
    # 3-cell tie block: each tied cell gets weight 1/3, whatever the order of the units.
    w = flag_area([5, 1, 1, 1], None, 0.5)
    assert w.tolist() == pytest.approx([1.0, 1 / 3, 1 / 3, 1 / 3])
    w_rev = flag_area([1, 1, 1, 5], None, 0.5)
    assert w_rev.tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3, 1.0])
    # A forecast of all zeros flags every unit at the same weight: hit rate = area share.
    assert hit_rate(flag_area([0, 0, 0, 0], None, 0.25), [4, 0, 0, 0]) == pytest.approx(0.25)


def test_no_events_gives_nan() -> None:
    w = flag_area([1, 2], None, 0.5)
    assert math.isnan(hit_rate(w, [0, 0]))
    assert math.isnan(pei_star(w, [0, 0], None))


def test_bad_fraction_and_areas_rejected() -> None:
    with pytest.raises(ValueError, match="fraction"):
        flag_area([1, 2], None, 0.0)
    with pytest.raises(ValueError, match="area"):
        flag_area([1, 2], [1, 0], 0.5)


def test_rri_by_hand() -> None:
    # Flagged units 0 and 1. Period 1: 6 of 10 events inside; period 2: 3 of 12 inside.
    # RRI = (3 / 6) / (12 / 10) = 0.41666...
    w = [1, 1, 0, 0]
    assert recapture_rate_index(w, [4, 2, 3, 1], [1, 2, 5, 4]) == pytest.approx(0.5 / 1.2)
    assert math.isnan(recapture_rate_index(w, [0, 0, 3, 1], [1, 2, 5, 4]))


def test_overlap_by_hand() -> None:
    # Sets {0, 1} and {1, 2} of equal cells: intersection 1, union 3.
    assert flagged_overlap([1, 1, 0], [0, 1, 1]) == pytest.approx(1 / 3)
    # Areas 1, 2, 3: intersection area 2, union 6.
    assert flagged_overlap([1, 1, 0], [0, 1, 1], [1, 2, 3]) == pytest.approx(2 / 6)


def test_poisson_deviance_by_hand() -> None:
    # y = (0, 2), mu = (1, 1): unit 0: 0 - (0 - 1) = 1; unit 1: 2 ln 2 - (2 - 1) = 0.3863.
    # Mean deviance = 2 * (1 + 0.3863) / 2 = 1.3863 = 2 ln 2.
    assert poisson_deviance([1, 1], [0, 2]) == pytest.approx(2 * math.log(2))
    assert poisson_deviance([3, 5], [3, 5]) == pytest.approx(0.0)
    # Zero prediction where an event happened is floored, so it is finite but large.
    big = poisson_deviance([0.0], [1.0], floor=1e-6)
    assert big == pytest.approx(2 * (math.log(1e6) - 1 + 1e-6))


def test_reliability_table_by_hand() -> None:
    predicted = [0.1, 0.2, 0.3, 0.4, 1.0, 2.0]
    observed = [0, 0, 1, 0, 1, 3]
    t = reliability_table(predicted, observed, bins=3)
    assert t["n_units"].tolist() == [2, 2, 2]
    assert t["mean_predicted"].tolist() == pytest.approx([0.15, 0.35, 1.5])
    assert t["mean_observed"].tolist() == pytest.approx([0.0, 0.5, 2.0])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 10), st.floats(0.1, 5), st.integers(0, 6)), min_size=1,
             max_size=30),
    st.sampled_from([0.01, 0.05, 0.1, 0.2, 0.5, 1.0]),
)
def test_flagged_area_and_bounds(units: list[tuple[float, float, int]], fraction: float) -> None:
    score = np.array([u[0] for u in units])
    area = np.array([u[1] for u in units])
    observed = np.array([u[2] for u in units], dtype=float)
    w = flag_area(score, area, fraction)
    assert np.all((w >= 0) & (w <= 1))
    assert float(np.dot(w, area)) == pytest.approx(fraction * area.sum(), rel=1e-9)
    if observed.sum() > 0:
        p = pei_star(w, observed, area)
        assert -1e-12 <= p <= 1 + 1e-9
        # The hindsight forecast (observed counts) reaches PEI* = 1.
        assert pei_star(flag_area(observed, area, fraction), observed, area) == pytest.approx(1)


def _flag_area_reference(score: list[float], area: list[float], fraction: float) -> list[float]:
    """Plain-Python twin of flag_area: walk tie blocks of density, densest first."""
    density = [s / a for s, a in zip(score, area, strict=True)]
    target = fraction * sum(area)
    weights = [0.0] * len(score)
    taken = 0.0
    for level in sorted(set(density), reverse=True):
        block = [i for i, d in enumerate(density) if d == level]
        block_area = sum(area[i] for i in block)
        share = min(1.0, max(0.0, (target - taken) / block_area))
        for i in block:
            weights[i] = share
        taken += block_area
    return weights


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 5), st.sampled_from([1.0, 2.0, 4.0])), min_size=1,
             max_size=25),
    st.floats(0.01, 1.0),
)
def test_flag_area_matches_reference(units: list[tuple[int, float]], fraction: float) -> None:
    score = [float(u[0]) for u in units]
    area = [u[1] for u in units]
    assert flag_area(score, area, fraction).tolist() == pytest.approx(
        _flag_area_reference(score, area, fraction), abs=1e-12
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 9), min_size=2, max_size=8), st.data())
def test_pei_denominator_is_the_best_subset(observed: list[int], data: st.DataObject) -> None:
    # Equal cells and a whole number k of them: the best any selection of k cells can catch
    # is found by brute force over all subsets, and PEI* of that subset's forecast is 1.
    from itertools import combinations

    n = len(observed)
    k = data.draw(st.integers(1, n))
    if sum(observed) == 0:
        return
    best = max(sum(observed[i] for i in c) for c in combinations(range(n), k))
    forecast = [float(i) for i in range(n)]  # any ranking
    w = flag_area(forecast, None, k / n)
    caught = float(np.dot(w, observed))
    assert pei_star(w, observed, None) == pytest.approx(caught / best)
