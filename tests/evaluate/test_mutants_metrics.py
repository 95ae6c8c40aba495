"""Metric tests written to kill surviving mutants (issue 15, scripts/mutation.sh metrics):
``interval_coverage`` and ``flag_top`` had no test of their own. Each is checked against an
oracle written here from the definition (no scipy, no shared code)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from patrolcast.evaluate.metrics import flag_top, interval_coverage, tiebreak_key


def _poisson_quantile(q: float, mu: float) -> int:
    """Smallest k with P(X <= k) >= q for X ~ Poisson(mu), by summing the probabilities."""
    if mu <= 0:
        return 0
    k, p = 0, math.exp(-mu)
    cdf = p
    while cdf < q - 1e-12:
        k += 1
        p *= mu / k
        cdf += p
    return k


def _coverage(mu: list[float], y: list[float], p: float) -> tuple[float, float]:
    m = [max(v, 0.0) for v in mu]
    inside = [
        _poisson_quantile((1 - p) / 2, a) <= b <= _poisson_quantile((1 + p) / 2, a)
        for a, b in zip(m, y, strict=True)
    ]
    total = sum(m)
    lo, hi = _poisson_quantile((1 - p) / 2, total), _poisson_quantile((1 + p) / 2, total)
    return sum(inside) / len(inside), float(lo <= sum(y) <= hi)


@pytest.mark.parametrize(
    ("mu", "y"),
    [
        # interval edges: Poisson(2) 80% = [0, 4], 95% = [0, 5]; Poisson(10) 80% = [6, 14]
        ([2.0, 2.0, 2.0, 10.0, 10.0, 10.0, 10.0], [4.0, 5.0, 6.0, 6.0, 5.0, 14.0, 15.0]),
        ([0.5, 5.0, 0.0, -1.0, 20.0], [0.0, 9.0, 0.0, 1.0, 12.0]),  # zero and negative means
        ([3.0, 3.0], [30.0, 30.0]),  # the total far outside its interval
    ],
)
def test_interval_coverage_against_the_definition(mu: list[float], y: list[float]) -> None:
    got = interval_coverage(mu, y, levels=(0.8, 0.95, 0.5))
    assert set(got) == {f"{k}_{p}" for k in ("units", "total") for p in ("0.8", "0.95", "0.5")}
    for p in (0.8, 0.95, 0.5):
        units, total = _coverage(mu, y, p)
        assert got[f"units_{p:g}"] == pytest.approx(units), p
        assert got[f"total_{p:g}"] == total, p


def test_interval_coverage_edges_are_inside() -> None:
    """The interval is closed: an observed count on either end is covered."""
    lo, hi = _poisson_quantile(0.1, 10.0), _poisson_quantile(0.9, 10.0)
    assert (lo, hi) == (6, 14)
    got = interval_coverage([10.0] * 4, [lo, hi, lo - 1, hi + 1], levels=(0.8,))
    assert got["units_0.8"] == 0.5
    assert math.isnan(interval_coverage([], [], levels=(0.8,))["units_0.8"])  # no units
    # the total's interval, Poisson(10) 80% = [6, 14]: 5 is just below, 6 and 14 inside
    for total, inside in ((5, 0.0), (6, 1.0), (14, 1.0), (15, 0.0)):
        got = interval_coverage([5.0, 5.0], [total - 1, 1], levels=(0.8,))
        assert got["total_0.8"] == inside, total


def test_tiebreak_key_is_a_fixed_permutation() -> None:
    key = tiebreak_key(50, seed=4)
    assert key.dtype == np.float64 and sorted(key.tolist()) == list(range(50))
    assert np.array_equal(key, tiebreak_key(50, seed=4))
    assert not np.array_equal(key, tiebreak_key(50, seed=5))
    assert np.array_equal(tiebreak_key(50), tiebreak_key(50, seed=0))
    assert not np.array_equal(tiebreak_key(50), np.arange(50.0))  # not unit order


def _flag_oracle(score: list[float], area: list[float], fraction: float,
                 key: list[float]) -> list[float]:  # fmt: skip
    order = sorted(range(len(score)), key=lambda i: (-score[i] / area[i], key[i]))
    left = fraction * sum(area)
    weights = [0.0] * len(score)
    for i in order:
        take = min(max(left / area[i], 0.0), 1.0)
        weights[i] = take
        left -= area[i]
    return weights


@pytest.mark.parametrize("fraction", [0.25, 0.3, 0.5, 1.0, 0.01])
def test_flag_top_grid_and_areas(fraction: float) -> None:
    rng = np.random.default_rng(3)
    score = rng.integers(0, 4, 12).astype(float)  # many ties
    key = tiebreak_key(12, seed=5)
    grid = flag_top(score, None, fraction, key)
    assert grid.tolist() == pytest.approx(_flag_oracle(score.tolist(), [1.0] * 12, fraction,
                                                       key.tolist()))  # fmt: skip
    assert grid.sum() == pytest.approx(fraction * 12)
    area = rng.uniform(0.5, 3.0, 12)
    areas = flag_top(score, area, fraction, key)
    assert areas.tolist() == pytest.approx(
        _flag_oracle(score.tolist(), area.tolist(), fraction, key.tolist())
    )
    assert float((areas * area).sum()) == pytest.approx(fraction * area.sum())


def test_flag_top_ranks_by_density_and_breaks_ties_by_key() -> None:
    # a big unit with the highest count is not the densest
    w = flag_top([10.0, 6.0, 1.0], [10.0, 2.0, 1.0], 2.0 / 13.0, [0.0, 1.0, 2.0])
    assert w.tolist() == [0.0, 1.0, 0.0]
    # equal scores: the unit with the lowest key is taken first, wherever it sits
    assert flag_top([1.0, 1.0, 1.0, 1.0], None, 0.25, [3.0, 2.0, 0.0, 1.0]).tolist() == [
        0.0, 0.0, 1.0, 0.0
    ]
    assert flag_top([], None, 0.5, []).size == 0
    assert flag_top([5.0], None, 0.5, [0.0]).tolist() == [0.5]  # one unit, counted in part
    assert flag_top([5.0], [2.0], 1.0, [0.0]).tolist() == [1.0]
    for bad in (0.0, -0.1, 1.01):
        with pytest.raises(ValueError, match="area fraction"):
            flag_top([1.0, 2.0], None, bad, [0.0, 1.0])


def test_hit_rate_with_a_single_event_and_with_none() -> None:
    from patrolcast.evaluate.metrics import hit_rate

    assert hit_rate([1.0, 0.0, 0.0], [1, 0, 0]) == 1.0  # one event, flagged
    assert hit_rate([0.0, 0.5, 0.0], [0, 1, 0]) == 0.5  # one event in a half-flagged unit
    assert hit_rate([1, 0, 1], [2, 5, 1]) == pytest.approx(3 / 8)  # integer inputs
    assert math.isnan(hit_rate([1.0, 0.0], [0, 0]))


def test_pai_refuses_an_empty_area() -> None:
    from patrolcast.evaluate.metrics import pai

    assert pai(0.3, 0.1) == pytest.approx(3.0)
    for bad in (0.0, -0.01):
        with pytest.raises(ValueError, match="area fraction must be positive"):
            pai(0.3, bad)


def test_poisson_deviance_against_the_definition() -> None:
    from patrolcast.evaluate.metrics import poisson_deviance

    mu, y = [0.5, 2.0, 0.0, 3.0], [1, 0, 2, 3]
    floored = [max(m, 1e-6) for m in mu]
    terms = [
        (b * math.log(b / m) if b > 0 else 0.0) - (b - m) for m, b in zip(floored, y, strict=True)
    ]
    assert poisson_deviance(mu, y) == pytest.approx(2 * sum(terms) / len(terms))
    assert poisson_deviance([1.0, 2.0], [1, 2]) == 0.0  # a perfect forecast
    assert math.isnan(poisson_deviance([], []))
    with pytest.raises(ValueError, match="^predicted and observed must have one value per unit$"):
        poisson_deviance([1.0, 2.0], [1])


def test_score_area_fractions_with_unequal_areas() -> None:
    """Every field of every row, on areas of different sizes, against flag_top's oracle."""
    from patrolcast.evaluate.metrics import score_area_fractions

    score, area = [8.0, 6.0, 1.0, 0.5], [4.0, 1.0, 1.0, 2.0]  # densities 2, 6, 1, 0.25
    y = [3.0, 5.0, 0.0, 2.0]
    rows = score_area_fractions(score, y, area, fractions=(0.125, 0.5))
    assert [r.fraction for r in rows] == [0.125, 0.5]
    # 1/8 of 8 km2: the densest unit (1 km2, 5 events) alone
    assert rows[0].caught == pytest.approx(5.0) and rows[0].n_events == 10.0
    assert rows[0].hit_rate == pytest.approx(0.5) and rows[0].pai == pytest.approx(4.0)
    # half: the 1 km2 unit, then 3 of the 4 km2 unit (3/4 of its 3 events)
    assert rows[1].caught == pytest.approx(5.0 + 0.75 * 3.0)
    assert rows[1].hit_rate == pytest.approx(7.25 / 10.0)
    assert 0.0 < rows[1].pei_star <= 1.0 and rows[0].pei_star == pytest.approx(1.0)
    # the best 4 km2 in hindsight: the 5 events in 1 km2, the 2 in 2 km2, 1 km2 of the 4 km2
    # unit (3/4 of an event): 7.75; PEI* weighs areas too (unit counts would give 7.25, 1.0)
    assert rows[1].pei_star == pytest.approx(7.25 / 7.75)
    with pytest.raises(ValueError, match="3 observed counts for 4 scores"):
        score_area_fractions(score, y[:3], area)


def test_reliability_table_deciles() -> None:
    from patrolcast.evaluate.metrics import reliability_table

    mu = np.arange(20, dtype=float)[::-1]  # 19 .. 0
    y = mu + 1.0
    t = reliability_table(mu, y)
    assert t["bin"].tolist() == list(range(1, 11)) and (t["n_units"] == 2).all()
    assert t["mean_predicted"].tolist() == [0.5 + 2 * i for i in range(10)]
    assert (t["mean_observed"] - t["mean_predicted"]).tolist() == [1.0] * 10
    assert t["sum_observed"].sum() == y.sum()
    # ties keep unit order (stable): equal predictions, the first units in the first bin
    tied = reliability_table(np.zeros(4), [1.0, 2.0, 3.0, 4.0], bins=2)
    assert tied["sum_observed"].tolist() == [3.0, 7.0]
    assert len(reliability_table([1.0], [1.0], bins=1)) == 1
    assert len(reliability_table([1.0, 2.0], [1.0, 2.0], bins=5)) == 2  # never an empty bin
    for bad in (0, -1):
        with pytest.raises(ValueError, match="^bins must be at least 1$"):
            reliability_table([1.0], [1.0], bins=bad)
    with pytest.raises(ValueError, match="^predicted and observed must have one value per unit$"):
        reliability_table([1.0, 2.0], [1.0])
    assert t["sum_predicted"].tolist() == [1.0 + 4 * i for i in range(10)]
    # many tied predictions (numpy's default sort is not stable beyond 16 values): the bins
    # still take the units in their order
    many = reliability_table(np.array([1.0, 0.0] * 20), np.arange(40.0), bins=4)
    zeros, ones = list(range(1, 40, 2)), list(range(0, 40, 2))  # unit numbers = observed
    assert many["sum_observed"].tolist() == [
        float(sum(zeros[:10])), float(sum(zeros[10:])), float(sum(ones[:10])),
        float(sum(ones[10:])),
    ]


def test_recapture_rate_index_edges() -> None:
    """RRI = (n2 / n1) / (N2 / N1): defined from one event on, NaN when a ratio is not."""
    from patrolcast.evaluate.metrics import recapture_rate_index

    w = [1.0, 0.0, 0.0]
    assert recapture_rate_index(w, [1, 0, 0], [1, 0, 0]) == pytest.approx(1.0)
    assert recapture_rate_index(w, [1, 1, 0], [2, 0, 2]) == pytest.approx((2 / 1) / (4 / 2))
    assert math.isnan(recapture_rate_index(w, [1, 0, 0], [0, 0, 0]))  # nothing after
    assert math.isnan(recapture_rate_index(w, [0, 1, 0], [1, 0, 0]))  # none flagged before


def test_flagged_overlap_weighs_by_area() -> None:
    from patrolcast.evaluate.metrics import flagged_overlap

    a, b = [1.0, 0.0], [1.0, 1.0]
    assert flagged_overlap(a, b) == pytest.approx(0.5)
    assert flagged_overlap(a, b, [1.0, 3.0]) == pytest.approx(0.25)
    assert flagged_overlap(a, b, [0.1, 0.3]) == pytest.approx(0.25)  # under 1 km2 in all
    assert math.isnan(flagged_overlap([0.0, 0.0], [0.0, 0.0]))


def test_pai_message() -> None:
    from patrolcast.evaluate.metrics import pai

    with pytest.raises(ValueError, match="^area fraction must be positive$"):
        pai(0.5, 0.0)


def test_single_precision_inputs_score_as_their_double_precision_copies() -> None:
    """Scores are computed in double precision whatever the inputs' precision: a forecast or
    counts held in float32 (e.g. read from a raster) score exactly as the same values in
    float64. Sums of float32 values lose units past 2**24 (16,777,216): 2**24 + 1 + 1 is
    2**24 in float32."""
    from patrolcast.evaluate.metrics import (
        hit_rate,
        poisson_deviance,
        recapture_rate_index,
        reliability_table,
        score_area_fractions,
    )

    big = [2.0**24, 1.0, 1.0, 3.0, 0.0]
    flagged = [1.0, 1.0, 0.0, 0.5, 0.0]
    after = [1.0, 2.0**24, 1.0, 1.0, 0.0]
    predicted = [2.0**24, 1.0, 1.0, 0.0, 1.0]
    f32, f64 = (lambda v: np.array(v, dtype=np.float32)), (lambda v: np.array(v, np.float64))

    assert hit_rate(f32(flagged), f32(big)) == hit_rate(f64(flagged), f64(big))
    assert hit_rate(f64(flagged), f64(big)) == pytest.approx((2**24 + 1 + 1.5) / (2**24 + 5))
    assert recapture_rate_index(f32(flagged), f32(big), f32(after)) == recapture_rate_index(
        f64(flagged), f64(big), f64(after)
    )
    # a prediction of 0 where an event happened is floored at 1e-6 (float32 has no 1e-6)
    assert poisson_deviance(f32(predicted), f32(big)) == poisson_deviance(f64(predicted), f64(big))
    assert poisson_deviance(f32([0.0]), f32([1.0])) == pytest.approx(
        2 * (math.log(1 / 1e-6) - (1 - 1e-6)), rel=1e-12
    )
    t32 = reliability_table(f32(predicted), f32(big), bins=1)
    t64 = reliability_table(f64(predicted), f64(big), bins=1)
    assert t32.to_dict("records") == t64.to_dict("records")
    assert t64["sum_predicted"].tolist() == [2.0**24 + 3] and t64["sum_observed"].tolist() == [
        2.0**24 + 5
    ]
    r32 = score_area_fractions(f32([5.0, 4.0, 3.0, 2.0, 1.0]), f32(big), fractions=(0.4,))
    r64 = score_area_fractions(f64([5.0, 4.0, 3.0, 2.0, 1.0]), f64(big), fractions=(0.4,))
    assert r32 == r64 and r64[0].n_events == 2.0**24 + 5


def test_extended_precision_inputs_are_scored_in_double_precision() -> None:
    """The same rule for inputs wider than float64 (numpy's longdouble, 80 bits on x86 and
    64 on ARM): they are rounded to float64 first, so a score does not depend on the machine
    or on the array type that carried the numbers. Where longdouble is float64 this is
    trivially true."""
    from patrolcast.evaluate.metrics import (
        flagged_overlap,
        hit_rate,
        pei_star,
        recapture_rate_index,
    )

    ld = np.array([1.0, 1.0, 1.0, 1.0, 31.0, 5.0], dtype=np.longdouble) / np.array(
        [1.0, 1.0, 1.0, 3.0, 65.0, 91.0], dtype=np.longdouble
    )
    dbl = ld.astype(np.float64)
    y = [4.0, 5.0, 8.0, 6.0, 5.0, 4.0]
    area = [1.0, 2.0, 1.0, 1.0, 3.0, 1.0]
    assert hit_rate(ld, y) == hit_rate(dbl, y)
    assert pei_star(ld, y, area) == pei_star(dbl, y, area)
    assert pei_star(dbl, ld * 3, area) == pei_star(dbl, dbl * 3, area)  # fractional counts
    before, after = [7.0, 2.0, 4.0, 7.0, 1.0, 2.0], [1.0, 4.0, 8.0, 1.0, 3.0, 3.0]
    assert recapture_rate_index(ld, before, after) == recapture_rate_index(dbl, before, after)
    assert flagged_overlap(dbl[::-1], ld, area) == flagged_overlap(dbl[::-1], dbl, area)


def test_a_window_without_events_gives_nan_quietly() -> None:
    """Backtests meet windows with no events, flagged sets with no area and empty supports
    routinely: the undefined score is NaN, returned without a numpy RuntimeWarning (0 / 0,
    the mean of nothing) on every such window."""
    import warnings

    from patrolcast.evaluate.metrics import (
        flagged_overlap,
        hit_rate,
        pei_star,
        poisson_deviance,
        recapture_rate_index,
    )

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(hit_rate([1.0, 0.0], [0.0, 0.0]))
        assert math.isnan(flagged_overlap([0.0, 0.0], [0.0, 0.0], [1.0, 2.0]))
        assert math.isnan(pei_star([1.0, 0.0], [0.0, 0.0], None))
        assert math.isnan(pei_star([0.0, 0.0], [1.0, 0.0], None))
        assert math.isnan(recapture_rate_index([1.0, 0.0], [0.0, 1.0], [1.0, 1.0]))
        assert math.isnan(recapture_rate_index([1.0, 0.0], [1.0, 1.0], [0.0, 0.0]))
        assert math.isnan(poisson_deviance([], []))
        got = interval_coverage([], [], levels=(0.8,))
        assert math.isnan(got["units_0.8"]) and got["total_0.8"] == 1.0  # 0 in [0, 0]


def test_interval_coverage_of_single_precision_inputs() -> None:
    """The double-precision rule for ``interval_coverage``: the total's interval is that of the
    exact sum of the predicted means, and the observed total is the exact sum of the counts.
    In float32, 2**24 + 1 + 1 + 1 is 2**24: the total's interval would move and an observed
    total one past its upper end would be rounded back into it."""
    from scipy.stats import poisson

    f32, f64 = (lambda v: np.array(v, dtype=np.float32)), (lambda v: np.array(v, np.float64))
    mu = [2.0**24, 1.0, 1.0, 1.0]
    hi = float(poisson.ppf(0.9, 2.0**24 + 3))  # the 80% interval's upper end of the total
    at_edge = [hi - 3, 1.0, 1.0, 1.0]  # total exactly the upper end: covered
    assert interval_coverage(f64(mu), at_edge, levels=(0.8,))["total_0.8"] == 1.0
    assert interval_coverage(f32(mu), at_edge, levels=(0.8,)) == interval_coverage(
        f64(mu), at_edge, levels=(0.8,)
    )
    past = [hi - 4, 1.0, 1.0, 1.0, 1.0, 1.0]  # one past it (all exact in float32)
    assert np.array_equal(f32(past).astype(np.float64), f64(past))
    assert interval_coverage(f64(mu + [0.0, 0.0]), past, levels=(0.8,))["total_0.8"] == 0.0
    assert interval_coverage(f64(mu + [0.0, 0.0]), f32(past), levels=(0.8,)) == (
        interval_coverage(f64(mu + [0.0, 0.0]), f64(past), levels=(0.8,))
    )


def test_scores_are_nan_rather_than_a_division_by_zero() -> None:
    """An undefined ratio is NaN, never an error or a number: RRI's N2 / N1 when the first
    period's counts add up to 0 (possible when corrected counts go negative), PEI* when the
    best possible catch rounds to 0 (flagged weights of a few 1e-324) or when the counts add up
    to no events."""
    from patrolcast.evaluate.metrics import pei_star, recapture_rate_index

    assert math.isnan(recapture_rate_index([1.0, 0.0], [1.0, -1.0], [1.0, 1.0]))
    assert math.isnan(pei_star([5e-324, 5e-324], [0.1, 0.0], [1.0, 1.0]))
    # PEI* is NaN when the counts add up to no events, whatever they are unit by unit
    assert math.isnan(pei_star([1.0, 0.0], [1.0, -1.0], None))


def test_area_and_shape_errors_say_what_is_wrong() -> None:
    """The messages a caller sees for inputs of the wrong shape."""
    with pytest.raises(ValueError, match="^scores must be a one-dimensional array, one value "
                                         "per unit$"):  # fmt: skip
        flag_top([[1.0, 2.0]], None, 0.5, [0.0, 1.0])
    with pytest.raises(ValueError, match="^2 unit areas for 3 scores$"):
        flag_top([1.0, 2.0, 3.0], [1.0, 1.0], 0.5, [0.0, 1.0, 2.0])


def test_tie_break_keys_given_as_text_compare_as_numbers() -> None:
    """Tie-break keys are numbers: read from a file as text ("9", "10") they are compared as
    9 < 10, not as strings ("10" < "9")."""
    assert flag_top([1.0, 1.0], None, 0.5, ["10", "9"]).tolist() == [0.0, 1.0]
    assert flag_top([1.0, 1.0], None, 0.5, [10, 9]).tolist() == [0.0, 1.0]
