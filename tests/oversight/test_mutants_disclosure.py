"""Disclosure tests written to kill surviving mutants (issue 15, scripts/mutation.sh oversight)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from patrolcast.oversight.disclosure import (
    PRIMARY_HIDDEN,
    SECONDARY_HIDDEN,
    joint_unprotected,
    unprotected,
)
from patrolcast.oversight.suppression import suppress


def test_linked_tables_report_only_pinned_small_counts() -> None:
    """Mutants: ``joint_unprotected``'s small-count test ``0 < v < threshold`` widened to
    ``0 <= v`` or ``v <= threshold``.

    A withheld column (status 3: any count from 0) holds 0, 1 and 3 (threshold 3); linked to
    what another table shows, all three are pinned and only the 1 is a small number given
    away. Then four hidden ``[c]`` cells, 3, 5, 0 and 6 (the 0 a count hidden because it is
    hidden elsewhere), all pinned once one of them is: no small count is given away, though
    the 3 (at the threshold) and the 0 are pinned."""
    table = suppress(pd.DataFrame([[0, 5], [1, 6], [3, 4]])).withhold([(0, 0), (1, 0), (2, 0)])
    tables = [(table.counts.to_numpy(), table.status, 3)]
    assert joint_unprotected(tables, []) == []  # alone, a withheld line gives nothing away
    links = [([(0, (i, 0), 1.0)], float(v), float(v)) for i, v in enumerate((0, 1, 3))]
    assert joint_unprotected(tables, links) == [(0, (1, 0))]

    values = np.array([[3, 5, 8], [0, 6, 6], [3, 11, 14]])
    status = np.zeros_like(values)
    status[:2, :2] = SECONDARY_HIDDEN
    pin = ([(0, (0, 0), 1.0)], 3.0, 3.0)
    assert joint_unprotected([(values, status, 3)], [pin]) == []
    # the same pattern with a "<3" 2 where the 3 is: the 2 is pinned and reported
    values[0] = [2, 5, 7]
    values[2] = [2, 11, 13]
    status[0, 0] = PRIMARY_HIDDEN
    pin = ([(0, (0, 0), 1.0)], 2.0, 2.0)
    assert joint_unprotected([(values, status, 3)], [pin]) == [(0, (0, 0))]


def test_the_warm_lp_finds_each_optimum_itself() -> None:
    """Mutants in ``_WarmLp`` (the objective not passed, the solution or its rounding lost):
    each would raise or answer ``None`` and be covered up by the exact fallback
    (``scipy.optimize.milp``), leaving every audit several times slower with no test noticing.

    On a two-way table with margins the linear relaxation's vertices are integral, so the warm
    LP answers every minimisation and maximisation itself, with a feasible integer table whose
    objective is the integer optimum (checked against ``milp``). Skipped on a SciPy without
    the private HiGHS binding, where ``milp`` alone is used by design."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    from patrolcast.oversight import disclosure

    if not disclosure._FAST:
        pytest.skip("this SciPy has no private HiGHS binding: milp alone is used")
    table = suppress(pd.DataFrame([[2, 7, 1, 4], [5, 1, 6, 3], [8, 4, 2, 9]]))
    program = disclosure._Program([(table.counts.to_numpy(), np.asarray(table.status), 3)])
    assert len(program.hidden) >= 4 and program.fast is not None
    for k in range(len(program.hidden)):
        for sense in (1.0, -1.0):
            objective = np.zeros(len(program.hidden))
            objective[k] = sense
            x = program.fast.solve(objective)
            assert x is not None, (k, sense)
            assert x.dtype == np.int64
            assert np.all(program.lower <= x) and np.all(x <= program.upper)
            assert np.allclose(program.a @ x, program.row_lo)  # every line adds up
            exact = milp(objective, constraints=LinearConstraint(program.a, program.row_lo,
                                                                 program.row_hi),
                         bounds=Bounds(program.lower, program.upper),
                         integrality=np.ones(len(program.hidden)))
            assert float(objective @ x) == pytest.approx(exact.fun), (k, sense)
    assert program.fast is not None


def test_a_fractional_relaxation_is_not_taken_for_the_integer_bound() -> None:
    """Mutant: ``_WarmLp.solve``'s integrality tolerance ``1e-7`` widened (to ``1.0000001``),
    so that a fractional optimum of the linear relaxation is rounded and taken as the integer
    one.

    Links between tables can make the relaxation fractional. Here a "<3" 2 and its diagonal
    partner are protected alone (1 or 2 fit the published totals), but a link saying
    ``2.5 <= 2 * a <= 4`` leaves the integer 2 only: the relaxation's minimum 1.25 must not be
    read as "1 is possible"."""
    values = np.array([[2, 5, 7], [5, 2, 7], [7, 7, 14]])
    status = np.zeros_like(values)
    status[0, 0] = status[1, 1] = PRIMARY_HIDDEN
    status[0, 1] = status[1, 0] = SECONDARY_HIDDEN
    tables = [(values, status, 3)]
    assert joint_unprotected(tables, []) == []
    link = ([(0, (0, 0), 2.0)], 2.5, 4.0)
    assert joint_unprotected(tables, [link]) == [(0, (0, 0)), (0, (1, 1))]


def test_the_solver_writes_nothing_to_the_terminal(capfd: pytest.CaptureFixture[str]) -> None:
    """Mutant: HiGHS's ``output_flag`` switched on. Suppression runs inside the command line
    and report jobs: the solver's log must not be written to their output."""
    table = suppress(pd.DataFrame([[2, 7, 1, 4], [5, 1, 6, 3], [8, 4, 2, 9]]))
    assert table.suppressed.any()
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_is_protected_judges_an_inner_cell_unless_told_it_is_a_total() -> None:
    """Mutant: ``is_protected``'s ``margin`` defaulting to ``True``.

    The public rule, called without ``margin``, is the one for an inner "<t" count: at
    threshold 4 a hidden 2 whose attacker range is [2, 3] has lost 1 (a value within one of
    the truth that the mark allows) and is not protected; a total marked ``[c]`` with the same
    range is only required not to be pinned, and is."""
    from patrolcast.oversight.disclosure import is_protected

    assert not is_protected(2, PRIMARY_HIDDEN, 2, 3, 4)
    assert is_protected(2, PRIMARY_HIDDEN, 1, 3, 4)
    assert is_protected(2, PRIMARY_HIDDEN, 2, 3, 4, margin=True)


def test_small_totals_marked_small_are_judged_as_the_old_publications_marked_them() -> None:
    """Mutant: ``_Program`` dropping ``small_totals_marked_small`` (the comparison with the
    publications of the line-by-line era, whose small totals were marked "<3").

    [[1, 1], [4, 5]]: the row total 2 is small. Marked ``[c]`` (at least 1) the table is
    protected; marked "<3" it announces a total of 1 or 2 over two non-zero counts, so 1 + 1 = 2,
    and the column totals 5 and 6 then give away 4, 5 and their row total: every hidden cell."""
    table = suppress(pd.DataFrame([[1, 1], [4, 5]]))
    values, status = table.counts.to_numpy(), np.asarray(table.status)
    assert int(status[0, 2]) == PRIMARY_HIDDEN and table.display.iloc[0, 2] == "[c]"
    assert unprotected(values, status, 3) == []
    hidden = sorted((int(i), int(j)) for i, j in zip(*np.nonzero(status), strict=True))
    assert hidden == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    assert unprotected(values, status, 3, small_totals_marked_small=True) == hidden


def test_a_table_without_cells_discloses_nothing() -> None:
    """Mutant: ``_Program``'s largest value taken with ``max(initial=None)``, which fails on a
    table without cells. The public checks accept any table; one with no cells (nothing to
    publish) has nothing hidden and nothing disclosed, alone or with others."""
    from patrolcast.oversight.disclosure import audit, feasible_ranges

    empty = np.zeros((0, 0), dtype=np.int64)
    assert audit(empty, empty, 3).disclosed == [] and audit(empty, empty, 3).inherent == []
    assert unprotected(empty, empty, 3) == [] and feasible_ranges(empty, empty, 3) == {}
    assert joint_unprotected([(empty, empty, 3)], []) == []


def test_each_feasible_range_names_its_cell() -> None:
    """Mutant: ``_Program.cell_range`` dropping the cell (``cell=None``). The ranges returned
    by ``feasible_ranges`` name the cell they describe (a report lists them by cell)."""
    from patrolcast.oversight.disclosure import feasible_ranges

    table = suppress(pd.DataFrame([[2, 7, 1, 4], [5, 1, 6, 3], [8, 4, 2, 9]]))
    ranges = feasible_ranges(table.counts.to_numpy(), np.asarray(table.status), 3)
    assert len(ranges) >= 4
    for cell, found in ranges.items():
        assert found.cell == cell and found.value == int(table.counts.to_numpy()[cell])


def test_fully_hidden_gives_an_int64_status_for_any_integer_status() -> None:
    """Mutant: ``fully_hidden`` keeping the input's dtype. Statuses are int64 arrays (the
    documented type); a status held in a narrower integer type comes back as int64, with every
    published non-zero count hidden as ``[c]`` and zeros and hidden cells left as they were."""
    from patrolcast.oversight.disclosure import PUBLISHED, fully_hidden

    values = np.array([[0, 1, 1], [4, 5, 9], [4, 6, 10]])
    status = np.zeros((3, 3), dtype=np.int8)
    status[0, 1] = status[0, 2] = PRIMARY_HIDDEN
    out = fully_hidden(values, status)
    assert out.dtype == np.int64
    first = [PUBLISHED, PRIMARY_HIDDEN, PRIMARY_HIDDEN]
    assert out.tolist() == [first, [SECONDARY_HIDDEN] * 3, [SECONDARY_HIDDEN] * 3]
    assert status[1, 0] == PUBLISHED  # the input is left as it was
