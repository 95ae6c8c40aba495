"""Small-count suppression: primary '<3', secondary '[c]' so that no hidden count can be solved
from the whole table (the independent enumeration oracle is in test_disclosure.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patrolcast.oversight.suppression import (
    PRIMARY,
    SECONDARY,
    disclosed_cells,
    inherent_cells,
    suppress,
)


def test_one_row_secondary_suppression() -> None:
    table = pd.DataFrame({"incident": [2], "intelligence": [7], "other": [0]}, index=["all"])
    out = suppress(table)
    shown = out.display
    # a table with one row repeats its totals, so its small counts are marked as totals
    assert shown.loc["all", "incident"] == SECONDARY
    # 7 would give the 2 away from the total 9: it is hidden too; the zero stays.
    assert shown.loc["all", "intelligence"] == SECONDARY
    assert shown.loc["all", "other"] == 0
    assert shown.loc["all", "Total"] == 9
    assert shown.loc["Total", "incident"] == SECONDARY
    assert disclosed_cells(out) == []


def test_small_totals_are_marked_c() -> None:
    table = pd.DataFrame({"incident": [2, 0], "intelligence": [7, 4]}, index=["x", "y"])
    shown = suppress(table).display
    assert shown.loc["x", "incident"] == PRIMARY
    assert shown.loc["Total", "incident"] == SECONDARY  # a small total is "[c]", not "<3"


def test_secondary_must_keep_ambiguity() -> None:
    # hidden 1 + hidden 3 = 4 would be recoverable (1 is the only split with the 3 >= 3),
    # so a further cell or the total is hidden.
    table = pd.DataFrame({"a": [1, 4], "b": [3, 5], "c": [10, 6]}, index=["r", "s"])
    out = suppress(table)
    assert out.display.loc["r", "a"] == PRIMARY
    assert disclosed_cells(out) == []
    assert out.suppressed.sum() >= 3


def test_two_dimensional_table() -> None:
    table = pd.DataFrame(
        {"authorised": [5, 1, 8], "refused": [2, 0, 4], "cancelled": [0, 0, 3]},
        index=["Hackney", "Camden", "Lambeth"],
    )
    out = suppress(table)
    shown = out.display
    assert shown.loc["Camden", "authorised"] == PRIMARY
    assert shown.loc["Hackney", "refused"] == PRIMARY
    assert shown.loc["Camden", "refused"] == 0
    assert shown.loc["Total", "Total"] == 23
    assert disclosed_cells(out) == []
    # the true counts are kept alongside for the internal audit copy
    assert out.counts.loc["Total", "authorised"] == 14


def test_nothing_small_nothing_hidden() -> None:
    table = pd.DataFrame({"a": [3, 0], "b": [4, 5]}, index=["x", "y"])
    assert not suppress(table).suppressed.any()


@settings(max_examples=50, deadline=None)
@given(
    st.integers(1, 4).flatmap(
        lambda r: st.integers(1, 4).flatmap(
            lambda c: st.lists(
                st.lists(st.integers(0, 12), min_size=c, max_size=c), min_size=r, max_size=r
            )
        )
    )
)
def test_nothing_is_ever_disclosed(rows: list[list[int]]) -> None:
    table = pd.DataFrame(rows)
    out = suppress(table)
    assert disclosed_cells(out) == []
    assert inherent_cells(out) == []
    values = out.counts.to_numpy()
    small = (values > 0) & (values < 3)
    assert out.suppressed[small].all()
    shown = out.display.to_numpy()
    assert not any(shown[i, j] == values[i, j] for i, j in zip(*np.nonzero(small), strict=True))


def test_locked_totals_stay_as_locked() -> None:
    table = pd.DataFrame({"a": [4, 1], "b": [3, 6]}, index=["x", "y"])
    out = suppress(table, locked_totals={"a": True, "b": False})
    shown = out.display
    assert shown.loc["Total", "a"] == SECONDARY and shown.loc["Total", "b"] == 9
    assert shown.loc["y", "a"] == PRIMARY
    assert disclosed_cells(out) == []
    with pytest.raises(ValueError, match="small here"):
        suppress(pd.DataFrame({"a": [1]}), locked_totals={"a": False})


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="negative"):
        suppress(pd.DataFrame({"a": [-1]}))
    with pytest.raises(ValueError, match="threshold"):
        suppress(pd.DataFrame({"a": [1]}), threshold=1)
