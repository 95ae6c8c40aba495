"""Whole-table disclosure checking against an independent oracle.

The oracle below shares no code with :mod:`patrolcast.oversight.disclosure` or
:mod:`patrolcast.oversight.suppression`: it reads only the *displayed* table (numbers, ``"<3"``
and ``"[c]"``), enumerates every integer table consistent with it, and applies the protection
rule written out again from the documentation. Small tables only (up to 3x3, counts <= 12).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patrolcast.oversight.disclosure import audit, feasible_ranges
from patrolcast.oversight.suppression import (
    PRIMARY,
    SECONDARY,
    SuppressedTable,
    disclosed_cells,
    inherent_cells,
    suppress,
)

BIG = 60  # enumeration cap for a cell no published number bounds (test counts are <= 12)


# ------------------------------------------------------------------------------- the oracle
def _announced(shown: Any, margin: bool, t: int) -> tuple[int, int]:
    if not isinstance(shown, str):
        return int(shown), int(shown)
    if shown == f"<{t}":
        return 1, t - 1
    return (1, BIG * 9) if margin else (t, BIG * 9)


def oracle_values(display: list[list[Any]], t: int = 3) -> dict[tuple[int, int], set[int]]:
    """Every value each hidden cell takes in some integer table consistent with ``display``
    (inner rows x columns, then a total column; the last row holds the column totals)."""
    n_rows, n_cols = len(display) - 1, len(display[0]) - 1
    # totals, and every cell of a table with one row or one column (it repeats its totals)
    rng = {(i, j): _announced(display[i][j], i == n_rows or j == n_cols or 1 in (n_rows, n_cols),
                              t)
           for i in range(n_rows + 1) for j in range(n_cols + 1)}

    def pub(i: int, j: int) -> int | None:
        v = display[i][j]
        return None if isinstance(v, str) else int(v)

    seen: dict[tuple[int, int], set[int]] = {
        c: set() for c in rng if isinstance(display[c[0]][c[1]], str)
    }
    grid = [[0] * n_cols for _ in range(n_rows)]

    def within(cell: tuple[int, int], v: int) -> bool:
        lo, hi = rng[cell]
        return lo <= v <= hi

    def finish() -> None:
        rows = [sum(r) for r in grid]
        cols = [sum(grid[i][j] for i in range(n_rows)) for j in range(n_cols)]
        full = {(i, j): grid[i][j] for i in range(n_rows) for j in range(n_cols)}
        full.update({(i, n_cols): rows[i] for i in range(n_rows)})
        full.update({(n_rows, j): cols[j] for j in range(n_cols)})
        full[(n_rows, n_cols)] = sum(rows)
        if all(within(c, v) for c, v in full.items()):
            for c in seen:
                seen[c].add(full[c])

    def step(k: int) -> None:
        if k == n_rows * n_cols:
            finish()
            return
        i, j = divmod(k, n_cols)
        row_sum = sum(grid[i][:j])
        col_sum = sum(grid[r][j] for r in range(i))
        done = sum(map(sum, grid[:i])) + row_sum
        if pub(i, j) is not None:
            options = [pub(i, j)]
        elif j == n_cols - 1 and pub(i, n_cols) is not None:
            options = [pub(i, n_cols) - row_sum]  # type: ignore[operator]
        elif i == n_rows - 1 and pub(n_rows, j) is not None:
            options = [pub(n_rows, j) - col_sum]  # type: ignore[operator]
        else:
            caps = [BIG]
            for cap, used in ((pub(i, n_cols), row_sum), (pub(n_rows, j), col_sum),
                              (pub(n_rows, n_cols), done)):
                if cap is not None:
                    caps.append(cap - used)
            lo, hi = rng[(i, j)]
            options = list(range(lo, min(hi, min(caps)) + 1))
        for v in options:
            if v is None or not within((i, j), v):
                continue
            grid[i][j] = v
            if j == n_cols - 1 and not within((i, n_cols), sum(grid[i])):
                continue
            step(k + 1)
        grid[i][j] = 0

    step(0)
    return seen


def oracle_failures(display: list[list[Any]], truth: list[list[int]], t: int = 3
                    ) -> list[tuple[int, int]]:
    """Hidden cells the oracle finds solved: a ``<3`` cell must keep every value within one of
    the truth that ``<3`` allows; a ``[c]`` cell must keep at least two values."""
    bad = []
    for (i, j), values in sorted(oracle_values(display, t).items()):
        v = truth[i][j]
        assert v in values, "the true table must be consistent with what is shown"
        if display[i][j] == f"<{t}":
            needed = {x for x in (v - 1, v, v + 1) if 1 <= x <= t - 1}
            if not needed <= values:
                bad.append((i, j))
        elif len(values) < 2:
            bad.append((i, j))
    return bad


def _with_margins(rows: list[list[int]]) -> list[list[int]]:
    out = [[*r, sum(r)] for r in rows]
    out.append([sum(col) for col in zip(*out, strict=True)])
    return out


def _shown(table: SuppressedTable) -> list[list[Any]]:
    return [[v if isinstance(v, str) else int(v) for v in row]
            for row in table.display.to_numpy().tolist()]


def _table(rows: list[list[int]], hidden: dict[tuple[int, int], int], t: int = 3
           ) -> SuppressedTable:
    """A table with a chosen suppression pattern (1 primary, 2 secondary)."""
    counts = pd.DataFrame(_with_margins(rows))
    counts.columns = [*counts.columns[:-1], "Total"]
    status = np.zeros(counts.shape, dtype=np.int64)
    for cell, s in hidden.items():
        status[cell] = s
    return SuppressedTable(counts=counts, status=status, threshold=t)


# --------------------------------------------------------------------------- hand cases
def test_oracle_itself_on_a_known_table() -> None:
    # [<3, <3, 5 | 9]: the two hidden cells sum to 4 and each is 1 or 2, so both are 2.
    shown = [["<3", "<3", 5, 9], ["[c]", "[c]", 6, 13], ["[c]", "[c]", 11, 22]]
    assert oracle_values(shown)[(0, 0)] == {2}
    assert oracle_failures(shown, _with_margins([[2, 2, 5], [4, 3, 6]]))[:2] == [(0, 0),
                                                                               (0, 1)]


TWO_IN_A_ROW = [[2, 2, 5], [4, 3, 6]]


def test_two_hidden_small_cells_in_one_line_are_disclosed() -> None:
    """The mutation-audit case: with 5 and 9 published, both 2s are pinned (before the fix,
    a bound of ``threshold`` instead of ``threshold - 1`` reported nothing)."""
    table = _table(TWO_IN_A_ROW, {(0, 0): 1, (0, 1): 1, (1, 0): 2, (1, 1): 2})
    assert _shown(table)[0] == [PRIMARY, PRIMARY, 5, 9]
    assert (0, 0) in disclosed_cells(table) and (0, 1) in disclosed_cells(table)
    ranges = feasible_ranges(table.counts.to_numpy(), table.status, 3)
    assert (ranges[(0, 0)].lo, ranges[(0, 0)].hi) == (2, 2)
    out = suppress(pd.DataFrame(TWO_IN_A_ROW))
    assert disclosed_cells(out) == []
    assert oracle_failures(_shown(out), _with_margins(TWO_IN_A_ROW)) == []
    # a one-row table [2, 2, 5] repeats its totals: its cells are marked as totals, "[c]"
    one_row = suppress(pd.DataFrame([[2, 2, 5]]))
    assert _shown(one_row)[0][:2] == [SECONDARY, SECONDARY]
    assert oracle_failures(_shown(one_row), _with_margins([[2, 2, 5]])) == []


def test_cell_solvable_only_from_rows_and_columns_together() -> None:
    """[[2, 6], [5, 3]] with all four inner cells hidden and every total shown: no single row
    or column pins anything (each has two hidden cells with room), but together
    x00 = 8 - x01, x11 = 9 - x01 and x11 >= 3, x01 <= 6 force x00 = 2 and x11 = 3. This is
    the pattern the line-by-line secondary suppression produced."""
    rows = [[2, 6], [5, 3]]
    table = _table(rows, {(0, 0): 1, (0, 1): 2, (1, 0): 2, (1, 1): 2})
    shown = _shown(table)
    assert shown == [["<3", "[c]", 8], ["[c]", "[c]", 8], [7, 9, 16]]
    assert oracle_failures(shown, _with_margins(rows)) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    found = audit(table.counts.to_numpy(), table.status, 3)
    assert found.disclosed == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert (found.ranges[(0, 0)].lo, found.ranges[(0, 0)].hi) == (2, 2)
    # each line alone leaves room: e.g. row 1 is x10 + x11 = 8 with both >= 3
    out = suppress(pd.DataFrame(rows))
    assert disclosed_cells(out) == []
    assert oracle_failures(_shown(out), _with_margins(rows)) == []


def test_small_total_over_two_small_counts_is_not_announced() -> None:
    # "<3" on the total would say 1 + 1 = 2; the total is shown "[c]" and nothing is pinned.
    out = suppress(pd.DataFrame([[1, 1, 0], [5, 3, 4]]))
    shown = _shown(out)
    assert shown[0][:3] == [PRIMARY, PRIMARY, 0] and shown[0][3] == SECONDARY
    assert disclosed_cells(out) == [] and inherent_cells(out) == []
    assert oracle_failures(shown, _with_margins([[1, 1, 0], [5, 3, 4]])) == []


def test_ranges_match_the_oracle_on_a_fixed_pattern() -> None:
    rows = [[1, 4, 0], [3, 2, 7], [6, 0, 1]]
    out = suppress(pd.DataFrame(rows))
    seen = oracle_values(_shown(out))
    for cell, r in feasible_ranges(out.counts.to_numpy(), out.status, 3).items():
        assert r.lo == min(seen[cell])
        if r.hi is not None:
            assert r.hi == max(seen[cell])


# ------------------------------------------------------------------------ property tests
_counts = st.sampled_from([0, 0, 1, 1, 2, 2, 3, 4, 5, 7, 12])
_tables = st.integers(1, 3).flatmap(
    lambda r: st.integers(1, 3).flatmap(
        lambda c: st.lists(st.lists(_counts, min_size=c, max_size=c), min_size=r, max_size=r)
    )
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(_tables)
def test_published_tables_never_disclose(rows: list[list[int]]) -> None:
    out = suppress(pd.DataFrame(rows))
    shown = _shown(out)
    truth = _with_margins(rows)
    # every small count is hidden, and no hidden count is solvable (checked independently)
    for i, row in enumerate(truth):
        for j, v in enumerate(row):
            if 0 < v < 3:
                assert isinstance(shown[i][j], str), (i, j)
            elif not isinstance(shown[i][j], str):
                assert shown[i][j] == v
    assert oracle_failures(shown, truth) == []
    assert disclosed_cells(out) == [] and inherent_cells(out) == []


@settings(max_examples=80, deadline=None, derandomize=True)
@given(_tables, st.lists(st.booleans(), min_size=16, max_size=16), st.sampled_from([3, 4, 5]))
def test_checker_agrees_with_the_oracle_on_any_pattern(
    rows: list[list[int]], extra: list[bool], t: int
) -> None:
    """Any suppression pattern (small counts hidden, other non-zero cells hidden at random):
    the module's verdict equals the enumeration's."""
    truth = _with_margins(rows)
    hidden = {}
    k = 0
    for i, row in enumerate(truth):
        for j, v in enumerate(row):
            if 0 < v < t:
                hidden[(i, j)] = 1
            elif v >= t and extra[k % len(extra)]:
                hidden[(i, j)] = 2
            k += 1
    table = _table(rows, hidden, t)
    found = audit(table.counts.to_numpy(), table.status, t)
    assert sorted(found.disclosed + found.inherent) == oracle_failures(_shown(table), truth, t)


@pytest.mark.parametrize("threshold", [4, 5])
def test_higher_thresholds(threshold: int) -> None:
    rows = [[3, 1, 6], [2, 8, 4]]
    out = suppress(pd.DataFrame(rows), threshold=threshold)
    assert disclosed_cells(out) == []
    values = out.counts.to_numpy()
    assert out.suppressed[(values > 0) & (values < threshold)].all()
    assert _shown(out)[0][1] == f"<{threshold}"
    assert oracle_failures(_shown(out), _with_margins(rows), threshold) == []


def test_a_small_count_must_not_be_narrowed_to_within_one() -> None:
    """Threshold 5 ("<5": 1 to 4). Row [3, 1 | 4] with the 1 and the 3 hidden and the total
    shown (the row below hidden as "[c]"): the 3 is at least 1 and at most 3, the 1 at most
    3: nothing pinned, but the 3 can no longer be 4, its neighbour, which "<5" allowed:
    disclosed under the +-1 rule."""
    rows = [[3, 1], [6, 7]]
    table = _table(rows, {(0, 0): 1, (0, 1): 1, (1, 0): 2, (1, 1): 2}, 5)
    shown = _shown(table)
    assert shown[0] == ["<5", "<5", 4]
    assert (0, 0) in oracle_failures(shown, _with_margins(rows), 5)
    assert (0, 0) in disclosed_cells(table) + inherent_cells(table)


def test_warm_lp_and_integer_program_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    """The warm-started relaxation (the fast path) and scipy.optimize.milp give the same
    ranges; with the fast path off, the integer program alone still finds the disclosure."""
    import patrolcast.oversight.disclosure as disclosure

    rng = np.random.default_rng(3)
    cases = [rng.choice([0, 1, 2, 3, 5, 9], size=(3, 4)) for _ in range(6)]
    fast = [suppress(pd.DataFrame(c)) for c in cases]
    fast_ranges = [feasible_ranges(t.counts.to_numpy(), t.status, 3) for t in fast]
    monkeypatch.setattr(disclosure, "_FAST", False)
    for table, expected in zip(fast, fast_ranges, strict=True):
        assert feasible_ranges(table.counts.to_numpy(), table.status, 3) == expected
    rows = [[2, 6], [5, 3]]
    table = _table(rows, {(0, 0): 1, (0, 1): 2, (1, 0): 2, (1, 1): 2})
    assert disclosed_cells(table) == [(0, 0), (0, 1), (1, 0), (1, 1)]


def test_tables_solved_together() -> None:
    """Each table passes alone; linked (same total in both), the small counts are pinned."""
    from patrolcast.oversight.disclosure import joint_unprotected

    # by trigger: two "<3" in column 0, so its total is at least 2
    trig = suppress(pd.DataFrame([[1, 4], [1, 4]]))
    # by borough: one "<3" beside a 0 in column 0, so its total is at most 2
    boro = suppress(pd.DataFrame([[2, 3], [0, 5]]))
    assert disclosed_cells(trig) == [] and disclosed_cells(boro) == []
    assert _shown(trig)[2][0] == SECONDARY and _shown(boro)[2][0] == SECONDARY
    tables = [(t.counts.to_numpy(), t.status, 3) for t in (trig, boro)]
    link = ([(0, (2, 0), 1.0), (1, (2, 0), -1.0)], 0.0, 0.0)  # the same total in both
    assert (0, (0, 0)) in joint_unprotected(tables, [link])
    # the same with the trigger column withheld (status 3: any count from 0): safe
    withheld = trig.withhold([(0, 0), (1, 0)])
    tables[0] = (withheld.counts.to_numpy(), withheld.status, 3)
    assert joint_unprotected(tables, [link]) == []


def test_a_broken_fast_path_falls_back_to_milp(monkeypatch: pytest.MonkeyPatch) -> None:
    import patrolcast.oversight.disclosure as disclosure

    def broken(*args: object, **kwargs: object) -> None:
        raise AttributeError("no such HiGHS binding")

    monkeypatch.setattr(disclosure._WarmLp, "solve", broken)
    table = _table([[2, 6], [5, 3]], {(0, 0): 1, (0, 1): 2, (1, 0): 2, (1, 1): 2})
    assert disclosed_cells(table) == [(0, 0), (0, 1), (1, 0), (1, 1)]
