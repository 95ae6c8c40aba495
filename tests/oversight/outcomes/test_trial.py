"""Crossover allocation recorded with a digest, and its analysis, checked by hand."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pandas as pd
import pytest

from patrolcast.errors import InputError
from patrolcast.oversight.outcomes.trial import (
    analyse_crossover,
    crossover_allocation,
    verify_allocation,
)

DAYS = [date(2025, 3, 1) + timedelta(days=i) for i in range(4)]


def _alloc(seed: int = 42):  # type: ignore[no-untyped-def]
    return crossover_allocation("southend-like", ["hs01", "hs02"], DAYS, seed=seed,
                                created_at="2025-02-20T09:00:00Z")


def test_allocation_is_balanced_reproducible_and_digested() -> None:
    a = _alloc()
    assert [sum(row) for row in a.patrol] == [2, 2]
    assert a.digest == _alloc().digest and a.digest.startswith("sha256:")
    assert verify_allocation(a, a.digest)
    assert not verify_allocation(a, _alloc(seed=43).digest)
    # an allocation edited after the fact fails even with its own new digest
    flipped = tuple(tuple(not v for v in row) for row in a.patrol)
    edited = type(a)(a.trial_id, a.places, a.days, flipped, a.seed, a.created_at)
    assert not verify_allocation(edited, edited.digest)
    assert set(a.frame()["arm"]) == {"patrol", "control"}
    with pytest.raises(InputError):
        crossover_allocation("t", ["a"], DAYS, seed=1, created_at="x", patrol_share=1.0)


def test_mantel_haenszel_and_randomisation_by_hand() -> None:
    a = _alloc()
    rows = [(p, d, 1 if on else 3) for p, row in zip(a.places, a.patrol, strict=True)
            for d, on in zip(a.days, row, strict=True)]
    out = analyse_crossover(a, pd.DataFrame(rows, columns=["place", "day", "count"]),
                            n_permutations=2000, seed=3)
    # per place a = 2, b = 6, n1 = n0 = 2, N = 4: R = 2 * (2*2/4) = 2, S = 2 * (6*2/4) = 6
    assert out.rate_ratio == pytest.approx(1 / 3)
    # Var = 2 * (2*2*8/16) / (2*6) = 1/3
    assert out.log_se == pytest.approx(math.sqrt(1 / 3))
    # as extreme only if both places are (1/6 each way): 2/36 of the 36 equally likely draws
    assert 0.04 < out.randomisation_p < 0.075
    assert out.patrol_total == 4 and out.control_total == 12
    assert out.allocation_digest == a.digest


def test_outcomes_must_match_the_allocation() -> None:
    a = _alloc()
    frame = a.frame().assign(count=1).drop(columns="arm")
    with pytest.raises(InputError, match="lack"):
        analyse_crossover(a, frame.iloc[1:])
    extra = pd.concat([frame, pd.DataFrame([{"place": "hs99", "day": "2025-03-01", "count": 1}])])
    with pytest.raises(InputError, match="outside"):
        analyse_crossover(a, extra)
