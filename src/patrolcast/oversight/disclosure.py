"""Whole-table disclosure checking: what an attacker can solve from a published count table.

A published table (counts with row totals, column totals and a grand total) shows some cells
and hides others. An attacker knows every shown number, that the table adds up (each row and
each column, totals included), that counts are non-negative integers, and what each mark
announces:

- ``"<3"`` (primary suppression of an inner cell, status 1): a count in
  ``[1, threshold - 1]`` (zeros are shown, so a hidden small count is never 0);
- ``"[c]"`` on an inner cell (secondary suppression, status 2): a count of at least
  ``threshold`` (only counts that could have been shown are hidden as ``[c]``);
- ``"[c]"`` on a total (row total, column total or grand total, status 1 when the total is
  itself small, 2 when it is hidden as a secondary): at least 1. Small totals are marked
  ``[c]``, not ``"<3"``: a ``"<3"`` total over two ``"<3"`` counts would announce 1 + 1 = 2.
  A table with one row (or one column) of counts repeats its totals, so all its cells count
  as totals (:func:`is_margin`): they are often totals of a linked table too (the outcome
  counts are the column totals of the trigger table), where ``"<3"`` would again pin them.
- ``"[c]"`` on a cell of a withheld line (status 3, a whole row or column of a table withheld,
  zeros included, because linked tables together would give a count away; the report names
  such lines): any count from 0. Only a withheld small count (1 to ``threshold - 1``) is
  sensitive, protected when not pinned; a withheld 0 or large count was publishable anyway.
- A hidden cell whose true value is 0 (a linked total hidden because it is hidden in another
  table) is given ``[0, inf)``, so the attacker's knowledge always contains the truth.

For every hidden cell, :func:`feasible_ranges` minimises and maximises its value over all
*integer* tables consistent with that knowledge, solving the whole table as one system (mixed
integer programming with HiGHS through :func:`scipy.optimize.milp`; for a two-way table with
margins the linear relaxation is already integral, but the integer program is exact for any
constraint structure and is no slower at these sizes). The result ``[lo, hi]`` is the set of
values the attacker cannot rule out.

Protection rule (:func:`is_protected`), with ``v`` the true value:

- a ``"<3"`` cell (an inner cell) is protected when the attacker cannot rule out any value
  within one of ``v`` that the mark itself allows: ``lo <= max(1, v - 1)`` and
  ``hi >= min(threshold - 1, v + 1)``. Equivalently, the attacker cannot narrow it to an
  interval narrower than ``[v - 1, v + 1]`` clipped to what ``"<3"`` already says. At the
  default threshold 3 both 1 and 2 stay possible: nothing is learnt beyond the mark;
- a ``"[c]"`` cell is protected when it is not pinned (``hi > lo``). An inner ``[c]`` is not
  sensitive in itself (it is at least the threshold); any narrowing that matters shows up on
  the small cell it protects, and in the usual four-cell pattern a ``[c]`` cell's range is
  exactly as wide as its ``"<3"`` partner's (two values), so demanding more would hide most of
  a table. A small total marked ``[c]`` is protected when not pinned: its line's non-zero
  counts announce a lower bound on it that no suppression can remove (zeros are shown).

A failing cell is *inherent* (:attr:`Audit.inherent`) when it fails even if every non-zero
count of the table were hidden: no secondary suppression can protect it, because the
disclosure comes from the marks alone (a row whose total is ``"<3"`` with two non-zero
counts is necessarily 1 + 1 = 2). :attr:`Audit.disclosed` lists the failing cells that
secondary suppression can and must protect.

References: Hundepool et al., *Statistical Disclosure Control* (Wiley, 2012), section 4.3
(protection intervals and the attacker's bounds for suppressed cells); Fischetti and
Salazar-Gonzalez, "Models and algorithms for optimizing cell suppression in tabular data with
linear constraints", *JASA* 95 (2000) 916-928 (upper and lower protection levels).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csc_array, csr_array

__all__ = [
    "PRIMARY_HIDDEN",
    "PUBLISHED",
    "SECONDARY_HIDDEN",
    "WITHHELD",
    "Audit",
    "CellRange",
    "Link",
    "announced_range",
    "audit",
    "feasible_ranges",
    "is_margin",
    "is_protected",
    "joint_unprotected",
    "fully_hidden",
    "table_lines",
    "unprotected",
]

PUBLISHED, PRIMARY_HIDDEN, SECONDARY_HIDDEN, WITHHELD = 0, 1, 2, 3

Cell = tuple[int, int]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class CellRange:
    """What an attacker can tell about one hidden cell."""

    cell: Cell
    value: int
    status: int
    lo: int
    hi: int | None  # None: no upper bound
    threshold: int
    margin: bool = False  # a row, column or grand total

    @property
    def protected(self) -> bool:
        return is_protected(self.value, self.status, self.lo, self.hi, self.threshold,
                            margin=self.margin)


@dataclass(frozen=True)
class Audit:
    """The failing hidden cells suppression must protect, the failing cells no suppression can
    protect (disclosed by the marks alone), and the feasible range of each failing cell."""

    ranges: dict[Cell, CellRange]
    disclosed: list[Cell]
    inherent: list[Cell]


def table_lines(shape: tuple[int, int]) -> list[tuple[list[Cell], Cell]]:
    """Every row and column of a table whose last row and column are totals: (cells, total).

    The total row and the total column are lines too, so the grand total is tied both ways.
    """
    rows, cols = shape
    lines: list[tuple[list[Cell], Cell]] = []
    for i in range(rows):
        lines.append(([(i, j) for j in range(cols - 1)], (i, cols - 1)))
    for j in range(cols):
        lines.append(([(i, j) for i in range(rows - 1)], (rows - 1, j)))
    return lines


def is_margin(cell: Cell, shape: tuple[int, ...]) -> bool:
    """Whether ``cell`` is a total: in the total row or the total column, or anywhere in a
    table with a single inner row or column (its cells repeat the totals)."""
    rows, cols = shape[0], shape[1]
    return rows <= 2 or cols <= 2 or cell[0] == rows - 1 or cell[1] == cols - 1


def announced_range(
    value: int, status: int, threshold: int, *, margin: bool = False
) -> tuple[int, int | None]:
    """The range a mark tells the public (see the module notes); ``None``: unbounded.

    ``margin=False`` for a small total gives the range of a ``"<3"``-marked total (the marks
    before small totals were shown ``[c]``; used to measure the old publications)."""
    if status == PUBLISHED:
        return value, value
    if value == 0 or status == WITHHELD:
        return 0, None
    if status == PRIMARY_HIDDEN and not margin:
        return 1, threshold - 1
    return (1, None) if margin else (threshold, None)


def is_protected(
    value: int, status: int, lo: int, hi: int | None, threshold: int, *, margin: bool = False
) -> bool:
    """The protection rule of the module notes, for a hidden cell of true value ``value``
    whose feasible range is ``[lo, hi]`` (``hi is None``: unbounded)."""
    if status == PUBLISHED or (status == WITHHELD and not 0 < value < threshold):
        return True
    top = float("inf") if hi is None else hi
    if status == PRIMARY_HIDDEN and not margin:
        return lo <= max(1, value - 1) and top >= min(threshold - 1, value + 1)
    return top > lo


try:  # HiGHS as bundled with SciPy, driven directly so that re-solves start warm
    from scipy.optimize._highspy import _core as _highs

    _FAST = hasattr(_highs, "_Highs") and hasattr(_highs, "HighsLp")
except ImportError:  # pragma: no cover - other SciPy layouts: scipy.optimize.milp alone
    _FAST = False


class _WarmLp:
    """The linear relaxation in one HiGHS instance, re-solved for each objective.

    An optimal vertex that is integral is also optimal for the integer program (the integer
    optimum can be no better than the relaxation's, and this vertex attains it). For two-way
    tables with margins the constraint matrix is totally unimodular, so vertices are integral;
    whenever one is not, :meth:`solve` returns ``None`` and the caller solves the integer
    program with :func:`scipy.optimize.milp`.
    """

    def __init__(self, a: npt.NDArray[np.float64], row_lo: npt.NDArray[np.float64],
                 row_hi: npt.NDArray[np.float64], lower: npt.NDArray[np.float64],
                 upper: npt.NDArray[np.float64]) -> None:
        matrix = csc_array(a)
        lp = _highs.HighsLp()
        lp.num_col_, lp.num_row_ = a.shape[1], a.shape[0]
        lp.col_cost_ = np.zeros(a.shape[1])
        lp.col_lower_, lp.col_upper_ = lower, upper
        lp.row_lower_, lp.row_upper_ = row_lo, row_hi
        lp.a_matrix_.format_ = _highs.MatrixFormat.kColwise
        lp.a_matrix_.start_ = matrix.indptr
        lp.a_matrix_.index_ = matrix.indices
        lp.a_matrix_.value_ = matrix.data
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = a.shape[1], a.shape[0]
        self.highs = _highs._Highs()
        self.highs.setOptionValue("output_flag", False)
        self.highs.passModel(lp)
        self.columns = np.arange(a.shape[1], dtype=np.int32)

    def solve(self, objective: npt.NDArray[np.float64]) -> IntArray | None:
        self.highs.changeColsCost(len(self.columns), self.columns, objective)
        self.highs.run()
        if self.highs.getModelStatus() != _highs.HighsModelStatus.kOptimal:
            return None
        x = np.asarray(self.highs.getSolution().col_value, dtype=np.float64)
        rounded = np.rint(x)
        if np.abs(x - rounded).max(initial=0.0) > 1e-7:
            return None
        return rounded.astype(np.int64)


Key = tuple[int, Cell]  # (table number, cell)
Link = tuple[list[tuple[int, Cell, float]], float, float]
"""A relation between tables: ``lo <= sum(coef * table[t][cell]) <= hi``."""


class _Program:
    """The attacker's integer program: one variable per hidden cell of one or more tables,
    each table's rows and columns adding up, plus any links between the tables."""

    def __init__(self, tables: list[tuple[IntArray, IntArray, int]], links: Sequence[Link] = (),
                 small_totals_marked_small: bool = False) -> None:
        self.small_totals = small_totals_marked_small
        self.tables = [(np.asarray(v, dtype=np.int64), np.asarray(s, dtype=np.int64), t)
                       for v, s, t in tables]
        self.hidden: list[Key] = [
            (t, (int(i), int(j)))
            for t, (_, status, _) in enumerate(self.tables)
            for i, j in zip(*np.nonzero(status != PUBLISHED), strict=True)
        ]
        self.index = {key: k for k, key in enumerate(self.hidden)}
        n = len(self.hidden)
        rows_a: list[npt.NDArray[np.float64]] = []
        row_lo: list[float] = []
        row_hi: list[float] = []

        def add(terms: list[tuple[int, Cell, float]], lo: float, hi: float) -> None:
            row = np.zeros(n)
            const = 0.0
            for t, cell, coef in terms:
                if (t, cell) in self.index:
                    row[self.index[(t, cell)]] += coef
                else:
                    const += coef * float(self.tables[t][0][cell])
            if row.any():
                rows_a.append(row)
                row_lo.append(lo - const)
                row_hi.append(hi - const)

        for t, (values, _, _) in enumerate(self.tables):
            for members, total in table_lines(values.shape):
                add([(t, c, 1.0) for c in members] + [(t, total, -1.0)], 0.0, 0.0)
        for terms, low, high in links:
            add(terms, low, high)
        # A finite cap keeps every maximisation bounded; reaching it means "no upper bound".
        top = max((int(v.max(initial=0)) + 4 * t for v, _, t in self.tables), default=0)
        self.cap = int(4 * top + 16)
        lower, upper = np.empty(n), np.empty(n)
        for k, key in enumerate(self.hidden):
            lo, hi = announced_range(self.value(key), self.status(key), self.tables[key[0]][2],
                                     margin=self._margin(key))
            lower[k] = lo
            upper[k] = self.cap if hi is None else hi
        self.a = np.array(rows_a).reshape(len(rows_a), n)
        self.row_lo, self.row_hi = np.array(row_lo), np.array(row_hi)
        self.lower, self.upper = lower, upper
        self.fast: _WarmLp | None = None
        if rows_a and _FAST:
            try:
                self.fast = _WarmLp(self.a, self.row_lo, self.row_hi, lower, upper)
            except Exception:  # a SciPy whose private HiGHS binding differs: milp alone
                self.fast = None
        # Values seen in feasible tables so far, per hidden cell (the true tables are one).
        truth = np.array([self.value(key) for key in self.hidden], dtype=np.int64)
        self.seen_lo, self.seen_hi = truth.copy(), truth.copy()

    def value(self, key: Key) -> int:
        return int(self.tables[key[0]][0][key[1]])

    def status(self, key: Key) -> int:
        return int(self.tables[key[0]][1][key[1]])

    def _margin(self, key: Key) -> bool:
        """A margin whose mark is ``[c]`` (a small total marked ``"<3"`` counts as inner)."""
        margin = is_margin(key[1], self.tables[key[0]][0].shape)
        return margin and not (self.small_totals and self.status(key) == PRIMARY_HIDDEN)

    def solve(self, k: int, sense: float) -> int:
        objective = np.zeros(len(self.hidden))
        objective[k] = sense
        return int(self._solve(objective)[k])

    def _solve(self, objective: npt.NDArray[np.float64]) -> IntArray:
        x = None
        if self.fast is not None:
            try:
                x = self.fast.solve(objective)
            except Exception:  # same: fall back to the public integer solver for good
                self.fast = None
        if x is None:  # no warm LP, or its optimum is fractional: the integer program decides
            constraint = (LinearConstraint(csr_array(self.a), self.row_lo, self.row_hi)
                          if len(self.row_lo) else ())
            res = milp(objective, constraints=constraint, bounds=Bounds(self.lower, self.upper),
                       integrality=np.ones(len(self.hidden)))
            if res.status != 0 or res.x is None:
                raise ValueError(f"published table is inconsistent ({res.message})")
            x = np.rint(res.x).astype(np.int64)
        np.minimum(self.seen_lo, x, out=self.seen_lo)
        np.maximum(self.seen_hi, x, out=self.seen_hi)
        return x

    def cell_range(self, key: Key, lo: int, hi: int) -> CellRange:
        return CellRange(cell=key[1], value=self.value(key), status=self.status(key), lo=lo,
                         hi=None if hi >= self.cap else hi, threshold=self.tables[key[0]][2],
                         margin=self._margin(key))

    def exact_range(self, key: Key) -> CellRange:
        k = self.index[key]
        return self.cell_range(key, self.solve(k, 1.0), self.solve(k, -1.0))

    def protected(self, key: Key) -> bool:
        """Whether ``key`` is protected; stops as soon as feasible tables already seen prove
        it (the true range contains every value seen, and the rule is monotone in the range)."""
        k = self.index[key]
        for sense in (1.0, -1.0):
            if self.cell_range(key, int(self.seen_lo[k]), int(self.seen_hi[k])).protected:
                return True
            self.solve(k, sense)
        return self.cell_range(key, int(self.seen_lo[k]), int(self.seen_hi[k])).protected


def feasible_ranges(
    values: IntArray,
    status: IntArray,
    threshold: int,
    cells: list[Cell] | None = None,
) -> dict[Cell, CellRange]:
    """``[lo, hi]`` of each hidden cell (or of ``cells``) over every integer table that agrees
    with the published cells, the additivity of the table and the marks' announced ranges."""
    program = _Program([(values, status, threshold)])
    wanted = [key for key in program.hidden if cells is None or key[1] in cells]
    return {key[1]: program.exact_range(key) for key in wanted}


def unprotected(
    values: IntArray,
    status: IntArray,
    threshold: int,
    cells: list[Cell] | None = None,
    *,
    small_totals_marked_small: bool = False,
) -> list[Cell]:
    """The hidden cells (or those of ``cells``) that fail the protection rule, in order.

    ``small_totals_marked_small``: judge a publication whose small totals were marked
    ``"<3"`` rather than ``[c]`` (the line-by-line era), for comparison."""
    program = _Program([(values, status, threshold)], (), small_totals_marked_small)
    wanted = [key for key in program.hidden if cells is None or key[1] in cells]
    return sorted(key[1] for key in wanted if not program.protected(key))


def joint_unprotected(
    tables: Sequence[tuple[IntArray, IntArray, int]], links: Sequence[Link]
) -> list[tuple[int, Cell]]:
    """Hidden *small* counts (1 to threshold - 1) that fail the protection rule when several
    published tables are solved together, ``links`` saying how they relate
    (``lo <= sum(coef * tables[t][cell]) <= hi``, e.g. two tables that show the same total,
    or a total that is at least another). Each table is expected to pass on its own; a
    withheld count of ``threshold`` or more pinned through another table's totals gives no
    small number away and is not reported here."""
    program = _Program(list(tables), links)
    small = [key for key in program.hidden if 0 < program.value(key) < program.tables[key[0]][2]]
    return sorted(key for key in small if not program.protected(key))


def fully_hidden(values: IntArray, status: IntArray) -> IntArray:
    """``status`` with every published non-zero count hidden as ``[c]`` (the most any
    secondary suppression could hide)."""
    values = np.asarray(values, dtype=np.int64)
    out = np.asarray(status, dtype=np.int64).copy()
    out[(out == PUBLISHED) & (values > 0)] = SECONDARY_HIDDEN
    return out


def audit(values: IntArray, status: IntArray, threshold: int) -> Audit:
    """The failing hidden cells, split into those suppression must protect (``disclosed``)
    and those it cannot (``inherent``, see the module notes), with their feasible ranges."""
    failing = unprotected(values, status, threshold)
    inherent: list[Cell] = []
    if failing:
        inherent = unprotected(values, fully_hidden(values, status), threshold, failing)
    return Audit(
        ranges=feasible_ranges(values, status, threshold, failing) if failing else {},
        disclosed=[c for c in failing if c not in inherent],
        inherent=inherent,
    )
