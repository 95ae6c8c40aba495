"""Knox test: numba path against the all-pairs numpy reference, band logic, planted near repeats."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from patrolcast.errors import InputError
from patrolcast.forecast.near_repeat import (
    count_close_pairs,
    count_close_pairs_reference,
    knox_reference,
    knox_test,
    plot_knox,
)


def _planted(seed: int, n: int = 400, planted: int = 60) -> tuple[np.ndarray, ...]:
    """Uniform events plus ``planted`` repeats within 50 m and 5 days of another event."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, 365, n)
    x = rng.uniform(0, 5000, n)
    y = rng.uniform(0, 5000, n)
    src = np.arange(planted, 2 * planted)
    t[:planted] = t[src] + rng.uniform(0.01, 5, planted)
    x[:planted] = x[src] + rng.uniform(-35, 35, planted)
    y[:planted] = y[src] + rng.uniform(-35, 35, planted)
    return t, x, y


def test_numba_table_equals_all_pairs_reference() -> None:
    t, x, y = _planted(1)
    fast = knox_test(t, x, y, permutations=49, seed=3)
    ref = knox_reference(t, x, y, permutations=49, seed=3)
    np.testing.assert_array_equal(fast.observed, ref.observed)
    np.testing.assert_allclose(fast.expected, ref.expected)
    np.testing.assert_allclose(fast.p_value, ref.p_value)
    plain = knox_test(t, x, y, permutations=49, seed=3, engine="reference")
    np.testing.assert_array_equal(plain.observed, fast.observed)


def test_counting_kernel_matches_numpy() -> None:
    rng = np.random.default_rng(0)
    ti, tj = rng.uniform(0, 60, 5000), rng.uniform(0, 60, 5000)
    sband = rng.integers(0, 3, 5000)
    edges = np.array([0.0, 7.0, 14.0, 28.0])
    np.testing.assert_array_equal(
        count_close_pairs(ti, tj, sband, edges, 3),
        count_close_pairs_reference(ti, tj, sband, edges, 3),
    )


def test_table_accounts_for_every_pair_and_finds_planted_repeats() -> None:
    t, x, y = _planted(2)
    res = knox_test(t, x, y, permutations=199, seed=0)
    n = res.n_events
    assert res.observed.sum() == n * (n - 1) // 2
    assert res.expected.sum() == pytest.approx(n * (n - 1) / 2)
    assert res.ratio[0, 0] > 3 and res.p_value[0, 0] <= 0.01
    # far in space or time: nothing planted, ratio near 1
    assert 0.9 < res.ratio[-1, -1] < 1.1


def test_no_interaction_gives_no_significant_close_cell() -> None:
    rng = np.random.default_rng(5)
    n = 500
    res = knox_test(
        rng.uniform(0, 365, n), rng.uniform(0, 5000, n), rng.uniform(0, 5000, n), permutations=199
    )
    assert res.p_value[0, 0] > 0.01


def test_day_precision_rounds_and_half_open_bands() -> None:
    # two events exactly 7 days apart (day precision, local midnight = 05:00 UTC) at the same spot
    # fall in the 7-14 day band; 6 days apart in 0-7
    base = 19000 + 5 / 24
    t = np.array([base, base + 7, base + 100, base + 106, base + 300])
    x = np.array([0.0, 0.0, 5000.0, 5000.0, 9000.0])
    y = np.zeros(5)
    res = knox_test(t, x, y, permutations=9, time_precision="day")
    assert res.observed[0, 1] == 1 and res.observed[0, 0] == 1
    assert res.band_of(100.0, 7.0) == (1, 1)
    with pytest.raises(InputError):
        knox_test(t, x, y, time_precision="month")


def test_duplicates_dropped_and_bad_bands_refused() -> None:
    t = np.array([1.0, 1.0, 2.0, 50.0])
    x = np.array([0.0, 0.0, 10.0, 3000.0])
    res = knox_test(t, x, np.zeros(4), permutations=9)
    assert res.n_duplicates_dropped == 1 and res.n_events == 3
    with pytest.raises(InputError):
        knox_test(t, x, np.zeros(4), space_bands=(0, 200, 100))
    with pytest.raises(InputError):
        knox_test(t[:2], x[:2], np.zeros(2))


def test_json_and_plot(tmp_path: Path) -> None:
    t, x, y = _planted(3, n=200, planted=30)
    res = knox_test(t, x, y, permutations=19)
    doc = json.loads(json.dumps(res.to_dict()))
    assert len(doc["cells"]) == 16 and doc["cells"][0]["space_band"] == "0-100 m"
    assert "| 0-100 m |" in res.to_markdown()
    png = plot_knox(res, tmp_path / "k.png")
    assert png.stat().st_size > 1000


def test_day_precision_ties_on_band_edges_match_reference_in_every_row() -> None:
    """Whole-day times put many pairs exactly on the 7/14/28-day edges: every row, including the
    "beyond" row built from the time-band totals, must equal the all-pairs reference."""
    rng = np.random.default_rng(8)
    n = 300
    t = 19000 + 5 / 24 + rng.integers(0, 60, n).astype(float)  # 60 days: ties everywhere
    x = rng.uniform(0, 2500, n)
    y = rng.uniform(0, 2500, n)
    dt = np.abs(np.round(t)[:, None] - np.round(t)[None, :])
    assert np.sum(np.isin(dt, (7.0, 14.0, 28.0))) > 1000  # the edges really are tied
    fast = knox_test(t, x, y, permutations=19, seed=1, time_precision="day")
    ref = knox_reference(t, x, y, permutations=19, seed=1, time_precision="day")
    for row in range(ref.observed.shape[0]):
        np.testing.assert_array_equal(fast.observed[row], ref.observed[row])
        np.testing.assert_allclose(fast.expected[row], ref.expected[row])
