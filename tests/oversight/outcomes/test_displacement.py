"""WDQ and WDD against hand-computed values."""

from __future__ import annotations

import math

import pytest

from patrolcast.errors import InputError
from patrolcast.oversight.outcomes import (
    random_effects,
    scaled_wdd,
    weighted_displacement_difference,
    weighted_displacement_quotient,
)


def test_wdq_by_hand() -> None:
    # A: 20 -> 10, B: 30 -> 27, C: 100 -> 100
    # SM = 10/100 - 20/100 = -0.10 ; BM = 27/100 - 30/100 = -0.03 ; WDQ = 0.3 (diffusion)
    q = weighted_displacement_quotient(20, 10, 30, 27, 100, 100)
    assert q.success_measure == pytest.approx(-0.10)
    assert q.buffer_measure == pytest.approx(-0.03)
    assert q.wdq == pytest.approx(0.3)
    assert "diffusion" in q.reading
    # buffer up from 30 to 45: BM = +0.15, WDQ = -1.5 (displacement beyond the gain)
    worse = weighted_displacement_quotient(20, 10, 30, 45, 100, 100)
    assert worse.wdq == pytest.approx(-1.5)
    assert "net loss" in worse.reading


def test_wdq_undefined_cases() -> None:
    assert weighted_displacement_quotient(10, 10, 5, 5, 0, 3).wdq is None
    rose = weighted_displacement_quotient(10, 15, 5, 5, 50, 50)
    assert rose.wdq is None and rose.success_measure == pytest.approx(0.1)
    with pytest.raises(InputError):
        weighted_displacement_quotient(-1, 1, 1, 1, 1, 1)


def test_wdd_matches_wheeler_ratcliffe_formula() -> None:
    # T 40->25, Ct 50->48, D 30->33, Cd 60->60
    # WDD = (25-40) - (48-50) + (33-30) - (60-60) = -15 + 2 + 3 - 0 = -10
    # Var = 40+25+50+48+30+33+60+60 = 346
    w = weighted_displacement_difference(40, 25, 50, 48, 30, 33, 60, 60)
    assert w.wdd == pytest.approx(-10)
    assert w.se == pytest.approx(math.sqrt(346))
    assert w.low == pytest.approx(-10 - 1.959964 * math.sqrt(346), rel=1e-5)
    assert w.treated_change == pytest.approx(-13)
    assert w.displacement_change == pytest.approx(3)


def test_scaled_wdd_reduces_to_published_and_scales() -> None:
    args = (40, 25, 40, 38, 30, 33, 30, 30)  # controls as large as the areas: rho = 1
    plain = weighted_displacement_difference(*args)
    scaled = scaled_wdd(*args)
    assert scaled.wdd == pytest.approx(plain.wdd) and scaled.se == pytest.approx(plain.se)
    # before period twice as long (s = 0.5) and a control twice as big (rho = 0.5):
    # T 80 -> 25, Ct 160 -> 76: (25 - 40) - 0.5 * (76 - 80) = -13
    # D 60 -> 33, Cd 60 -> 30 (rho 1): (33 - 30) - (30 - 30) = 3
    w = scaled_wdd(80, 25, 160, 76, 60, 33, 60, 30, period_ratio=0.5)
    assert w.wdd == pytest.approx(-10)
    var = 25 + 0.25 * 80 + 0.25 * (76 + 0.25 * 160) + 33 + 0.25 * 60 + (30 + 0.25 * 60)
    assert w.se == pytest.approx(math.sqrt(var))
    wider = scaled_wdd(80, 25, 160, 76, 60, 33, 60, 30, period_ratio=0.5, alpha=0.1)
    # extra = 0.1 * ((0.5 * 76)^2 + (1 * 30)^2)
    assert wider.se == pytest.approx(math.sqrt(var + 0.1 * (38**2 + 30**2)))


def test_random_effects_by_hand() -> None:
    # two studies, y = 0 and 1, se = 1 each: w = 1, fixed mean 0.5, Q = 0.5 < k-1: tau2 = 0
    p = random_effects([0.0, 1.0], [1.0, 1.0])
    assert p.fixed_estimate == pytest.approx(0.5) and p.tau2 == 0.0
    assert p.se == pytest.approx(math.sqrt(0.5))
    assert p.i2 == 0.0
    # y = 0 and 4, se = 1: Q = 2*(2^2) = 8, denom = 2 - 2/2 = 1, tau2 = 7
    h = random_effects([0.0, 4.0], [1.0, 1.0])
    assert h.q == pytest.approx(8.0) and h.tau2 == pytest.approx(7.0)
    assert h.se == pytest.approx(math.sqrt(1 / (2 / 8)))
    assert h.i2 == pytest.approx(7 / 8)
    with pytest.raises(InputError):
        random_effects([0.1], [0.0])
