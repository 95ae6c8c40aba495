"""Suppression tests written to kill surviving mutants (issue 15, scripts/mutation.sh oversight)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from patrolcast.oversight.disclosure import PRIMARY_HIDDEN, SECONDARY_HIDDEN, audit
from patrolcast.oversight.suppression import disclosed_cells, suppress


def test_withholding_keeps_the_threshold() -> None:
    """Mutant: ``SuppressedTable.withhold`` dropping the table's threshold (``threshold=None``).

    A withheld table is checked again against the same threshold: with 5, the 3 and 4 in
    the table are small, and a table withheld from it still says so."""
    table = suppress(pd.DataFrame([[3, 9, 8], [4, 7, 6], [9, 8, 7]]), threshold=5)
    withheld = table.withhold([(0, 0), (1, 0)])
    assert withheld.threshold == table.threshold == 5
    assert np.array_equal(withheld.counts.to_numpy(), table.counts.to_numpy())
    assert disclosed_cells(withheld) == []


def test_secondary_suppression_prefers_inner_cells_to_totals() -> None:
    """Mutants: ``_cost`` taking the wrong row or column for the totals (``shape[0] + 1``,
    ``shape[1] - 1`` for the rows, ``- 2``, ``shape[1] + 1``).

    Hiding a total hides a number readers use; when inner cells are enough to protect the
    small counts, no row total, column total or grand total is hidden. In each table below
    the inner cells are enough (the result discloses nothing)."""
    for rows in ([[1, 4, 1], [9, 9, 9]], [[2, 12], [7, 5]], [[7, 3], [4, 1], [4, 12]]):
        table = suppress(pd.DataFrame(rows))
        assert disclosed_cells(table) == [], rows
        status = np.asarray(table.status)
        assert not status[-1, :].any() and not status[:, -1].any(), (rows, status)
        assert status[:-1, :-1].any(), rows  # something is hidden: the tables have small counts


def _fewest_secondary(values: np.ndarray, primary: np.ndarray, threshold: int) -> int:
    """The fewest published non-zero cells (totals included) whose hiding, on top of the
    primary suppressions, leaves nothing disclosed: every set, smallest first, checked by the
    whole-table solver (tested against enumeration in test_disclosure)."""
    cells = [(int(i), int(j)) for i, j in zip(*np.nonzero((primary == 0) & (values > 0)),
                                              strict=True)]
    for k in range(len(cells) + 1):
        for chosen in itertools.combinations(cells, k):
            status = primary.copy()
            for cell in chosen:
                status[cell] = SECONDARY_HIDDEN
            if not audit(values, status, threshold).disclosed:
                return k
    raise AssertionError("no suppression protects the table")


@pytest.mark.parametrize(
    "rows",
    [
        [[9, 7, 7], [7, 9, 2]],
        [[9, 7], [2, 3], [2, 7]],
        [[1, 0, 2], [9, 3, 4]],
        [[0, 1], [2, 0], [4, 0]],
        [[3, 4], [2, 2]],
        [[7, 2], [1, 2]],
        [[2, 4], [9, 2], [0, 1]],
    ],
)
def test_secondary_suppression_hides_the_fewest_cells_on_small_tables(
    rows: list[list[int]],
) -> None:
    """Mutants in ``_secondary``'s choices (the target, the candidates' order, the fallback
    to a cell on the target's line, ``_target_ok``, ``_same_line``, ``_cost``).

    The greedy choice is not optimal in general, but on these small tables it hides no more
    cells than the fewest possible, found by trying every set of secondary cells."""
    table = suppress(pd.DataFrame(rows))
    assert disclosed_cells(table) == []
    values = table.counts.to_numpy().astype(np.int64)
    status = np.asarray(table.status)
    primary = np.where(status == PRIMARY_HIDDEN, PRIMARY_HIDDEN, 0)
    assert (primary > 0).any()
    fewest = _fewest_secondary(values, primary, table.threshold)
    assert int((status == SECONDARY_HIDDEN).sum()) == fewest


def test_the_threshold_is_at_least_two() -> None:
    """Mutants: ``suppress``'s ``threshold < 2`` as ``<= 2`` or ``< 3``, and its message."""
    table = suppress(pd.DataFrame([[1, 5], [4, 6]]), threshold=2)
    assert table.threshold == 2 and disclosed_cells(table) == []
    assert int(np.asarray(table.status)[0, 0]) == PRIMARY_HIDDEN  # a 1 is small at 2
    assert int(np.asarray(table.status)[1, 0]) != PRIMARY_HIDDEN  # a 4 is not
    with pytest.raises(ValueError, match="^threshold must be at least 2$"):
        suppress(pd.DataFrame([[1, 5], [4, 6]]), threshold=1)


def test_the_final_pass_shows_totals_again_before_inner_cells() -> None:
    """Mutant: the final pass trying the ``[c]`` cells least informative first
    (``reverse=False``).

    The module's rule: a final pass shows again each ``[c]`` cell, the most informative first
    (totals before inner cells, larger before smaller), and keeps it shown while the table
    stays protected. In [[2, 2, 5], [0, 3, 1]] the third column's total 6 and the inner 5 and
    3 cannot all be shown again; totals are tried first, so the total is shown and the two
    inner counts stay hidden (tried the other way round, 5 and 3 would be shown and the total
    hidden)."""
    table = suppress(pd.DataFrame([[2, 2, 5], [0, 3, 1]]))
    assert disclosed_cells(table) == []
    shown = table.display
    assert shown.loc["Total", 2] == 6 and shown.loc["Total", "Total"] == 13
    assert shown.loc[0, 2] == "[c]" and shown.loc[1, 1] == "[c]"
    # and neither could be shown on its own now: the pass kept every cell it could
    status = np.asarray(table.status)
    for cell in ((0, 2), (1, 1)):
        trial = status.copy()
        trial[cell] = 0
        assert audit(table.counts.to_numpy().astype(np.int64), trial, 3).disclosed, cell
