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


@pytest.mark.parametrize(
    "options",
    [
        {"metric": "manhattan"},
        {"same_location": True},
        {"same_location": True, "metric": "manhattan"},
        {"block_length": 120.0, "space_bands": (0, 1, 2, 3)},
        {"time_unit": "hours", "time_bands": (0, 6, 24, 72)},
    ],
)
def test_options_match_the_all_pairs_reference(options: dict) -> None:
    t, x, y = _planted(4, n=300, planted=40)
    x[:20] = x[40:60]  # some pairs at exactly the same place
    y[:20] = y[40:60]
    fast = knox_test(t, x, y, permutations=19, seed=2, **options)
    ref = knox_reference(t, x, y, permutations=19, seed=2, **options)
    np.testing.assert_array_equal(fast.observed, ref.observed)
    np.testing.assert_allclose(fast.expected, ref.expected)
    n = fast.n_events
    assert fast.observed.sum() == n * (n - 1) // 2
    assert fast.observed.shape == (len(fast.space_labels), len(fast.time_labels))


def test_manhattan_same_location_blocks_and_hours_by_hand() -> None:
    # two events at one place 3 hours apart; two 90 m east + 90 m north apart (127 m straight,
    # 180 m Manhattan) 30 hours apart; a far one
    t = np.array([0.0, 3 / 24, 10.0, 10.0 + 30 / 24, 40.0])
    x = np.array([0.0, 0.0, 1000.0, 1090.0, 9000.0])
    y = np.array([0.0, 0.0, 0.0, 90.0, 0.0])
    bands = {"space_bands": (0, 150, 300), "time_bands": (0, 24, 48), "time_unit": "hours"}
    eu = knox_test(t, x, y, same_location=True, permutations=9, **bands)  # type: ignore[arg-type]
    assert eu.space_labels[0] == "same location" and eu.time_labels[0] == "0-24 hours"
    assert eu.observed[0, 0] == 1  # same place, 3 h
    assert eu.observed[1, 1] == 1  # 127 m, 30 h
    man = knox_test(t, x, y, same_location=True, metric="manhattan", permutations=9, **bands)  # type: ignore[arg-type]
    assert man.observed[2, 1] == 1  # 180 m Manhattan: the 150-300 band
    blocks = knox_test(t, x, y, space_bands=(0, 1, 2), block_length=150.0, permutations=9)
    assert blocks.space_edges == (0.0, 150.0, 300.0) and blocks.space_labels[0] == "0-1 blocks"
    with pytest.raises(InputError, match="hours"):
        knox_test(t, x, y, time_unit="hours", time_precision="day")
    with pytest.raises(InputError, match="distance"):
        knox_test(t, x, y, metric="chebyshev")


def test_near_repeat_calculator_export_marks_significance() -> None:
    import csv
    import io

    t, x, y = _planted(2)
    res = knox_test(t, x, y, permutations=199, seed=0, same_location=True, time_precision="day")
    rows = list(csv.reader(io.StringIO(res.to_nrc_csv())))
    titles = [r[0] for r in rows if len(r) == 1]
    assert titles == ["Observed frequencies", "Mean of Monte Carlo frequencies", "Knox ratios",
                      "Statistical significance (p-values)"]  # fmt: skip
    head = rows[1]
    assert head[0] == "Distance" and head[1] == "0 to 6 days" and head[-1] == "More than 28 days"
    ratios = rows[rows.index(["Knox ratios"]) + 2 : rows.index(["Knox ratios"]) + 2 + 5]
    assert [r[0] for r in ratios] == ["Same location", "0 to 100 m", "100 to 200 m",
                                      "200 to 400 m", "More than 400 m"]  # fmt: skip
    # the planted near repeats (within 50 m, 5 days) are marked ** in the first distance band
    assert ratios[1][1].endswith("**")
    for s, row in enumerate(ratios):
        for k, cell in enumerate(row[1:]):
            mark = res.significance(s, k)
            assert cell.endswith(mark) and (mark != "" or "*" not in cell)
    doc = res.to_dict()
    assert {c["significance"] for c in doc["cells"]} <= {"", "*", "**"}
