"""The oracle rankings of bench/issue9_ceiling.py on toy grids: the scored window is left out,
the one-sort flagging equals the backtest's ``flag_top``, and the departure fit recovers a
known spread."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from patrolcast.evaluate.metrics import flag_top, tiebreak_key

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import issue9_ceiling as ceil  # noqa: E402


def _toy() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # unit 0: before the window; unit 1: inside [10, 17); unit 2: after; unit 3: far away
    t = np.array([2.0, 9.999, 10.0, 12.0, 16.999, 17.0, 20.0, 400.0])
    unit = np.array([0, 0, 1, 1, 1, 2, 2, 3])
    w = np.ones_like(t)
    return t, unit, w


def test_around_leaves_the_window_out() -> None:
    t, unit, w = _toy()
    got = ceil.around(t, unit, w, 4, 10.0, 17.0, before=28.0, after=28.0)
    # the three events in [10, 17) are not counted; the window's ends: 10 is in the window,
    # 17 is after it
    assert got.tolist() == [2.0, 0.0, 2.0, 0.0]


def test_around_respects_the_spans() -> None:
    t, unit, w = _toy()
    got = ceil.around(t, unit, w, 4, 10.0, 17.0, before=1.0, after=3.0)
    assert got.tolist() == [1.0, 0.0, 1.0, 0.0]  # only 9.999 before; only 17.0 after


def test_year_rate_leaves_the_window_and_gaps_out() -> None:
    t, unit, w = _toy()
    spans = [(-1000.0, 1000.0)]
    rate = ceil.year_rate(t, unit, w, 4, 10.0, 17.0, spans)
    # 365 days around the window's middle, minus the 7-day window
    assert rate[1] == 0.0
    assert rate[0] == pytest.approx(2 / 358.0)
    assert rate[3] == 0.0  # 400 is beyond the half-year after
    # data ending at 21.0: the mean is over the covered days only (179 before, 4 after)
    short = ceil.year_rate(t, unit, w, 4, 10.0, 17.0, [(-1000.0, 21.0)])
    assert short[2] == pytest.approx(2 / 183.0)
    assert short[1] == 0.0


def test_covered_days_and_spans() -> None:
    assert ceil.covered_days(0.0, 10.0, [(2.0, 4.0), (8.0, 20.0)]) == pytest.approx(4.0)
    t = np.array([0.5, 1.5, 3.5])  # months [0,1) [1,2) [2,3) [3,4): month 2 is empty
    spans = ceil.data_spans(t, 4.0, np.array([0.0, 1.0, 2.0, 3.0, 4.0]))
    assert spans == [(0.0, 2.0), (3.0, 4.0)]


def test_flag_fractions_equals_flag_top() -> None:
    rng = np.random.default_rng(3)
    n = 500
    score = rng.poisson(0.7, n).astype(float)  # many ties
    area = rng.uniform(0.3, 1.0, n)  # cells clipped by the boundary
    key = tiebreak_key(n)
    got = ceil.flag_fractions(score, area, key)
    for j, f in enumerate(ceil.FRACTIONS):
        np.testing.assert_allclose(got[j], flag_top(score, area, f, key))


def test_rank_bins_follow_the_ranking() -> None:
    n = 1000
    score = np.arange(n, 0, -1).astype(float)  # unit 0 first
    bins = ceil.rank_bins(score, np.ones(n), tiebreak_key(n))
    assert bins[:10].tolist() == [0] * 10  # top 1%
    assert bins[10:25].tolist() == [1] * 15  # 1% to 2.5%
    assert bins[-1] == len(ceil.BIN_EDGES) - 1
    assert np.all(np.diff(bins) >= 0)


def _world(cv2: float, n: int = 20000, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    rate = rng.gamma(0.5, 4.0, n) + 0.1
    history = rng.poisson(rate * 10).astype(float)
    theta = rng.gamma(1 / cv2, cv2, n) if cv2 > 0 else np.ones(n)
    y1 = rng.poisson(rate * theta).astype(float)
    y2 = rng.poisson(rate * theta).astype(float)
    return history, y1, y2


@pytest.mark.parametrize("cv2", [0.0, 0.3])
def test_fit_departures_recovers_a_known_spread(cv2: float) -> None:
    history, y1, y2 = _world(cv2)
    keep = history > 0
    history, y1, y2 = history[keep], y1[keep], y2[keep]
    bins = np.zeros(history.size, dtype=np.int64)
    m1, m2 = ceil.shares(history, y1.sum()), ceil.shares(history, y2.sum())
    dep = ceil.fit_departures(bins, m1, m2, y1, y2)
    # Against shares from a 10-period history the residuals of the two periods share the
    # departure theta and the history's own noise: E cv2 = (cv2 E r^2 + E r / 10) /
    # (E r^2 + E r / 10) with r ~ 0.1 + Gamma(0.5, 4): about 0.017 for cv2 = 0, 0.31 for 0.3
    # (the periods' own Poisson noise does not enter)
    er, er2 = 2.1, 8.0 + 2.1**2
    expect = (cv2 * er2 + er / 10) / (er2 + er / 10)
    assert dep.cv2[0] == pytest.approx(expect, abs=0.05)
    assert dep.mu[0] == pytest.approx(1.0, abs=1e-9)  # shares scaled to the period's total


def test_rate_ceiling_without_departures_is_naive_all() -> None:
    rng = np.random.default_rng(1)
    n = 400
    history = rng.poisson(3.0, n).astype(float) + 1
    area, key = np.ones(n), tiebreak_key(n)
    mean, flat = np.ones(n), np.zeros(n)
    naive, oracle = ceil.rate_ceiling(history, mean, flat, 200.0, area, key, rng, 50)
    np.testing.assert_allclose(naive, oracle, atol=0.02)
    spread = np.full(n, 0.5)
    naive, oracle = ceil.rate_ceiling(history, mean, spread, 200.0, area, key, rng, 50)
    assert oracle[1] > naive[1] + 0.02  # knowing the departures helps at 5%


def test_eb_mean_between_the_share_and_the_year() -> None:
    history = np.array([10.0, 10.0, 1.0])
    year = np.array([0.0, 6.0, 6.0])
    one = np.ones(3)
    prior = ceil.eb_mean(history, year, one, np.zeros(3))
    np.testing.assert_allclose(prior, ceil.shares(history, 12.0))
    loose = ceil.eb_mean(history, year, one, np.full(3, 1e6))
    np.testing.assert_allclose(loose, year, atol=1e-3)
    mid = ceil.eb_mean(history, year, one, np.full(3, 0.5))
    assert np.all((mid - prior) * (year - prior) >= 0)
    assert np.all(np.abs(mid - prior) <= np.abs(year - prior))


def test_block_resample_draws_runs_of_neighbours() -> None:
    rng = np.random.default_rng(0)
    idx = ceil.block_resample(10, 3, rng)
    assert idx.size == 10
    assert idx.min() >= 0 and idx.max() <= 9
    # runs of 3 consecutive indices (the last one cut to length)
    for k in range(0, 9, 3):
        assert np.all(np.diff(idx[k : k + 3]) == 1)
    assert ceil.block_resample(4, 9, rng).tolist() == [0, 1, 2, 3]  # block capped at n
